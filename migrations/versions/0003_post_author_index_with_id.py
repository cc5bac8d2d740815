"""post: the author index ends with the id

``ix_post_user_id_timestamp`` (author, time) becomes
``ix_post_user_id_timestamp_id`` (author, time, id). Pages list posts newest
first with ties broken by id, which is now the index's own order; and the
timeline finds a page's posts from the index alone, reading the table only for
the page it shows.

The new index is built before the old one goes, so that MariaDB's foreign key
on ``post.user_id`` always has an index starting with that column. Building it
holds off writes to ``post`` for the time it takes (seconds for a million
posts), inside the release step's transaction.

Revision ID: 0003_post_author_index_with_id
Revises: 0002_tasks
Create Date: 2026-12-06 07:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003_post_author_index_with_id'
down_revision = '0002_tasks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_user_id_timestamp_id', ['user_id', 'timestamp', 'id'], unique=False)
        batch_op.drop_index('ix_post_user_id_timestamp')


def downgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_user_id_timestamp', ['user_id', 'timestamp'], unique=False)
        batch_op.drop_index('ix_post_user_id_timestamp_id')
