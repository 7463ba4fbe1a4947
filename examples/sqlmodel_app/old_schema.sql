-- "Old production": the schema the previous version of the app created, with some rows.
-- The models in models.py are one version ahead; the deploy's sync adds what is missing.
CREATE TABLE projects (
    id SERIAL PRIMARY KEY,
    name VARCHAR(100) NOT NULL
);
CREATE TABLE tasks (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    title VARCHAR(200) NOT NULL
);
INSERT INTO projects (name) VALUES ('Website'), ('Mobile app');
INSERT INTO tasks (project_id, title) VALUES
    (1, 'Write the landing page'),
    (1, 'Set up analytics'),
    (2, 'Sketch the login screen');
