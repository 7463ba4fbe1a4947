"""Models that real applications declare, as data: each case's models module defines
`metadata`. The reference is SQLAlchemy's own create_all() of the same models (see
test_create_all_parity.py), never an expected string of ours.

`setup` is SQL run first on every database of the case (an extension the app's
migrations create, say).
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = "import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql as pg\n"


@dataclass(frozen=True)
class Case:
    name: str
    models: str
    setup: str = ""


CASES = [
    Case("index ordering: DESC, NULLS LAST, an ordered expression", HEADER + """
metadata = sa.MetaData()
events = sa.Table("events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("occurred", sa.DateTime(timezone=True), nullable=False),
    sa.Column("a", sa.Integer), sa.Column("b", sa.Integer))
sa.Index("ix_events_id_occurred", events.c.id, events.c.occurred.desc())
sa.Index("ix_events_occurred_nulls", events.c.occurred.desc().nulls_last(), events.c.a.nulls_first())
sa.Index("ix_events_coalesce", sa.func.coalesce(events.c.a, events.c.b).asc())
sa.Index("ix_events_lower_partial", sa.func.lower(sa.cast(events.c.a, sa.Text)), postgresql_where=events.c.b > 0)
"""),
    Case("generated columns, with an index and a unique key on one", HEADER + """
metadata = sa.MetaData()
spans = sa.Table("spans", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("start_ns", sa.BigInteger, nullable=False),
    sa.Column("end_ns", sa.BigInteger, nullable=False),
    sa.Column("duration_ns", sa.BigInteger, sa.Computed("end_ns - start_ns", persisted=True)),
    sa.Column("label", sa.String(40)),
    sa.Column("label_lower", sa.String(40), sa.Computed("lower(label)", persisted=True), unique=True))
sa.Index("ix_spans_duration", spans.c.duration_ns)
"""),
    Case("column-level CHECK constraints, named and unnamed, in Column and mapped_column", HEADER + """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
class Base(DeclarativeBase):
    pass
class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), sa.CheckConstraint("kind IN ('a','b')", name="valid_kind"))
    qty: Mapped[int] = mapped_column(sa.CheckConstraint("qty >= 0"), default=0)
    __table_args__ = (sa.CheckConstraint("qty < 1000", name="qty_bound"),)
metadata = Base.metadata
"""),
    Case("GIN with an operator class, INCLUDE, hash, jsonb_path_ops", HEADER + """
metadata = sa.MetaData()
docs = sa.Table("docs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", pg.JSONB),
    sa.Column("slug", sa.Text))
sa.Index("ix_docs_title_trgm", docs.c.title, postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"})
sa.Index("ix_docs_body", docs.c.body, postgresql_using="gin", postgresql_ops={"body": "jsonb_path_ops"})
sa.Index("ix_docs_slug_cover", docs.c.slug, postgresql_include=["title"])
sa.Index("ix_docs_slug_hash", docs.c.slug, postgresql_using="hash")
sa.Index("ix_docs_title_pattern", docs.c.title, postgresql_ops={"title": "varchar_pattern_ops"})
""", setup="CREATE EXTENSION IF NOT EXISTS pg_trgm"),
    Case("create rules: ddl_if(dialect=...), Boolean and non-native Enum CHECKs", HEADER + """
metadata = sa.MetaData()
flags = sa.Table("flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("on", sa.Boolean(create_constraint=True, name="flags_on_bool"), nullable=False, server_default=sa.false()),
    sa.Column("mode", sa.Enum("x", "y", name="flag_mode", native_enum=False, create_constraint=True)),
    sa.Column("name", sa.String(20)))
sa.Index("ix_flags_name_sqlite_only", flags.c.name).ddl_if(dialect="sqlite")
sa.Index("ix_flags_name_pg_only", flags.c.name).ddl_if(dialect="postgresql")
"""),
    Case("naming-convention names over 63 characters", HEADER + """
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
parent = sa.Table("a_parent_table_with_a_rather_long_name_indeed", metadata,
    sa.Column("id", sa.Integer, primary_key=True))
child = sa.Table("a_child_table_whose_name_is_also_quite_long", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_identifier_column", sa.Integer, sa.ForeignKey(parent.c.id)),
    sa.Column("another_rather_long_column_name", sa.Integer),
    sa.CheckConstraint("another_rather_long_column_name > 0", name="another_rather_long_column_name_is_positive"),
    sa.UniqueConstraint("parent_identifier_column", "another_rather_long_column_name"))
sa.Index(None, child.c.parent_identifier_column, child.c.another_rather_long_column_name)
"""),
    Case("table and column names over 63 bytes, non-ASCII ones included (create_all() refuses a table name over 63 characters)", HEADER + """
metadata = sa.MetaData()
parent = sa.Table("tabelle_mit_einem_überlangen_namen_äöüäöüäöüäöüäöüäöüäöüäöüä", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ein_überaus_langer_spaltenname_mit_umlauten_äöü_der_die_grenze_sprengt", sa.String(20), index=True))
child = sa.Table("child", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.ForeignKey(parent.c.id)),
    sa.Column("a_column_name_that_is_far_too_long_for_postgresql_to_keep_in_full_x", sa.Integer, unique=True),
    sa.Column("ø_short_but_multibyte_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø_ø", sa.Text))
sa.Index("ix_child_long", child.c.a_column_name_that_is_far_too_long_for_postgresql_to_keep_in_full_x, child.c.parent_id)
"""),
    Case("defaults and actions spelled another way: Boolean '0', NO ACTION, RESTRICT", HEADER + """
metadata = sa.MetaData()
owners = sa.Table("owners", metadata, sa.Column("id", sa.Integer, primary_key=True))
pets = sa.Table("pets", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("owners.id", ondelete="NO ACTION", onupdate="RESTRICT")),
    sa.Column("sold", sa.Boolean, server_default="0", default=False, nullable=False),
    sa.Column("kept", sa.Boolean, server_default=sa.text("true"), nullable=False),
    sa.Column("grams", sa.Numeric(8, 3), server_default="0"))
"""),
    Case("primary keys: composite, named, an identity with options", HEADER + """
metadata = sa.MetaData()
sa.Table("keys", metadata,
    sa.Column("workspace", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(start=100, increment=5), nullable=False),
    sa.PrimaryKeyConstraint("workspace", "name", name="keys_workspace_name_pk"))
"""),
    Case("comments on tables and columns", HEADER + """
metadata = sa.MetaData()
sa.Table("notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, comment="the key"),
    sa.Column("body", sa.Text, comment="what it's about: 'quoted', %"),
    comment="notes users write")
"""),
    Case("unique=True and index=True columns, a unique index, a partial unique index", HEADER + """
metadata = sa.MetaData()
accounts = sa.Table("accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(255), unique=True, nullable=False),
    sa.Column("handle", sa.String(40), index=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()))
sa.Index("ux_accounts_handle_live", accounts.c.handle, unique=True, postgresql_where=sa.text("NOT deleted"))
sa.Index("ux_accounts_lower_email", sa.func.lower(accounts.c.email), unique=True)
"""),
    Case("collations, deferrable foreign keys, identity options", HEADER + """
metadata = sa.MetaData()
sa.Table("labels", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(10, collation="C"), nullable=False),
    sa.Column("title", sa.Text(collation="POSIX")),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("labels.id", deferrable=True, initially="DEFERRED")),
    sa.Column("other_id", sa.Integer, sa.ForeignKey("labels.id", deferrable=True)),
    sa.Column("seq", sa.BigInteger, sa.Identity(start=5, increment=2)))
"""),
    Case("use_alter foreign keys in a cycle", HEADER + """
metadata = sa.MetaData()
sa.Table("teams", metadata, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("captain_id", sa.Integer, sa.ForeignKey("players.id", use_alter=True, name="fk_teams_captain")))
sa.Table("players", metadata, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="SET NULL")))
"""),
    Case("a deferrable foreign key (SQLite too)", HEADER + """
metadata = sa.MetaData()
sa.Table("nodes", metadata, sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("nodes.id", deferrable=True, initially="DEFERRED")))
"""),
]
