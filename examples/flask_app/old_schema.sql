-- "Old production": the schema the previous version of the app created, with some rows.
-- The models in models.py are one version ahead; the deploy's sync adds what is missing.
CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    name VARCHAR(100)
);
CREATE TABLE courses (
    id SERIAL PRIMARY KEY,
    title VARCHAR(200) NOT NULL
);
CREATE TABLE enrollments (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id INTEGER NOT NULL REFERENCES courses (id)
);
INSERT INTO users (email, name) VALUES
    ('ada@example.com', 'Ada Lovelace'),
    ('alan@example.com', 'Alan Turing'),
    ('grace@example.com', NULL);
INSERT INTO courses (title) VALUES ('Analytical Engines'), ('Computable Numbers');
INSERT INTO enrollments (user_id, course_id) VALUES (1, 1), (2, 1), (2, 2);
