"""packets: one table for every rendered packet, the PDFs as files in the packet store

Revision ID: 8fa867a0afd8
Revises: 55bb625f1ea5
Create Date: 2026-11-30 00:37:08.391000

Upgrade: create ``packets``; move every referral's PDF blob (``referrals.packet_pdf``)
into the packet store (files named by SHA-256 under ``PACKET_DIR``) with a row each; add
rows for the batch packets rendered so far (their files under ``PACKET_DIR/batches`` and
the codes kept in the ``batch_packet`` jobs' results); then drop the referral columns the
table replaces (the blob, SHA-256, verification code, render time, job).

Downgrade: put them back from the newest packet of each referral (the PDF read from the
store), write each batch packet back to ``PACKET_DIR/batches`` with its file name in the
job's result, and drop ``packets``.

The packet folder is the app's ``PACKET_DIR`` when run by ``flask db``; otherwise it is
found the way finportal/config.py does (``FINPORTAL_PACKET_DIR``, else
``$FINPORTAL_INSTANCE_PATH/packets``). Files are written as finportal/storage.py's
FileStore does (kept here, frozen, so this migration does not change with it).
"""
import hashlib
import logging
import os
import secrets
import tempfile
from pathlib import Path

from alembic import op
import sqlalchemy as sa

import finportal.models.base


# revision identifiers, used by Alembic.
revision = '8fa867a0afd8'
down_revision = '55bb625f1ea5'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_UTC = finportal.models.base.UTCDateTime(timezone=True)

referrals = sa.table(
    "referrals",
    sa.column("id", sa.Integer),
    sa.column("packet_number", sa.String),
    sa.column("verification_code", sa.String),
    sa.column("packet_sha256", sa.String),
    sa.column("packet_pdf", sa.LargeBinary),
    sa.column("packet_rendered_at", _UTC),
    sa.column("packet_job_id", sa.String),
    sa.column("sent_at", _UTC),
    sa.column("product_version_id", sa.Integer),
    sa.column("consent_id", sa.Integer),
)
packets = sa.table(
    "packets",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("referral_id", sa.Integer),
    sa.column("batch_id", sa.Integer),
    sa.column("batch_member_id", sa.Integer),
    sa.column("cover_id", sa.Integer),
    sa.column("packet_number", sa.String),
    sa.column("verification_code", sa.String),
    sa.column("sha256", sa.String),
    sa.column("storage_key", sa.String),
    sa.column("byte_size", sa.Integer),
    sa.column("context_sha256", sa.String),
    sa.column("rendered_at", _UTC),
    sa.column("job_id", sa.String),
    sa.column("product_version_id", sa.Integer),
    sa.column("consent_id", sa.Integer),
)
jobs = sa.table(
    "jobs",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("state", sa.String),
    sa.column("result", sa.JSON),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.Integer),
    sa.column("created_at", _UTC),
    sa.column("finished_at", _UTC),
)
batches = sa.table(
    "batches",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("product_version_id", sa.Integer),
)
batch_members = sa.table("batch_members", sa.column("id", sa.Integer))


def _packet_dir():
    try:
        from flask import current_app

        return Path(current_app.config["PACKET_DIR"])
    except (ImportError, RuntimeError, KeyError):
        instance = os.environ.get("FINPORTAL_INSTANCE_PATH") or str(
            Path(__file__).resolve().parents[2] / "instance"
        )
        return Path(os.environ.get("FINPORTAL_PACKET_DIR") or Path(instance) / "packets")


def _key_path(root, key):
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a SHA-256 key: {key!r}")
    return root / key[:2] / key


def _put(root, content):
    """Store bytes as FileStore.put does: named by SHA-256, atomic, mode 600."""
    key = hashlib.sha256(content).hexdigest()
    path = _key_path(root, key)
    if path.exists():
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return key


def _get(root, key):
    try:
        return _key_path(root, key).read_bytes()
    except (OSError, ValueError):
        return None


def _new_code(used):
    while True:
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        if code not in used:
            used.add(code)
            return code


def upgrade():
    op.create_table('packets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('batch_member_id', sa.Integer(), nullable=True),
    sa.Column('cover_id', sa.Integer(), nullable=True),
    sa.Column('packet_number', sa.String(length=40), nullable=False),
    sa.Column('verification_code', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('context_sha256', sa.String(length=64), nullable=True),
    sa.Column('rendered_at', finportal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('product_version_id', sa.Integer(), nullable=True),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'referral' AND referral_id IS NOT NULL AND batch_id IS NULL AND batch_member_id IS NULL) OR (kind = 'batch_member' AND referral_id IS NULL AND batch_id IS NOT NULL AND batch_member_id IS NOT NULL AND cover_id IS NOT NULL) OR (kind = 'batch_cover' AND referral_id IS NULL AND batch_id IS NOT NULL AND batch_member_id IS NULL AND cover_id IS NULL)", name=op.f('ck_packets_one_subject')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_packets_batch_id_batches')),
    sa.ForeignKeyConstraint(['batch_member_id'], ['batch_members.id'], name=op.f('fk_packets_batch_member_id_batch_members')),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_packets_consent_id_consents')),
    sa.ForeignKeyConstraint(['cover_id'], ['packets.id'], name=op.f('fk_packets_cover_id_packets')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_packets_job_id_jobs')),
    sa.ForeignKeyConstraint(['product_version_id'], ['product_versions.id'], name=op.f('fk_packets_product_version_id_product_versions')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_packets_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packets')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_packets_verification_code'))
    )
    with op.batch_alter_table('packets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_packets_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_packets_batch_member_id'), ['batch_member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_packets_cover_id'), ['cover_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_packets_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_packets_sha256'), ['sha256'], unique=False)

    bind = op.get_bind()
    root = _packet_dir()
    used = set()
    _move_referral_blobs(bind, root, used)
    _carry_batch_packets(bind, root, used)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_referrals_verification_code'), type_='unique')
        batch_op.drop_column('packet_sha256')
        batch_op.drop_column('packet_job_id')
        batch_op.drop_column('packet_rendered_at')
        batch_op.drop_column('packet_pdf')
        batch_op.drop_column('verification_code')


def _move_referral_blobs(bind, root, used):
    """Write each referral's PDF blob into the store and add its packet row."""
    job_ids = set(bind.execute(sa.select(jobs.c.id)).scalars())
    ids = bind.execute(
        sa.select(referrals.c.id).where(referrals.c.packet_pdf.is_not(None)).order_by(referrals.c.id)
    ).scalars().all()
    for referral_id in ids:  # one blob in memory at a time
        row = bind.execute(sa.select(referrals).where(referrals.c.id == referral_id)).one()
        pdf = bytes(row.packet_pdf)
        key = _put(root, pdf)
        if row.packet_sha256 and row.packet_sha256 != key:
            log.warning("referral %s: stored SHA-256 %s, PDF has %s (kept the PDF's)",
                        referral_id, row.packet_sha256, key)
        code = row.verification_code
        if not code or code in used:
            code = _new_code(used)
        used.add(code)
        bind.execute(packets.insert().values(
            kind="referral",
            referral_id=referral_id,
            packet_number=row.packet_number or f"RP-{referral_id:06d}",
            verification_code=code,
            sha256=key,
            storage_key=key,
            byte_size=len(pdf),
            rendered_at=row.packet_rendered_at or row.sent_at or finportal.models.base.utcnow(),
            job_id=row.packet_job_id if row.packet_job_id in job_ids else None,
            product_version_id=row.product_version_id,
            consent_id=row.consent_id,
        ))


def _carry_batch_packets(bind, root, used):
    """Add rows for the batch packets rendered so far, from their jobs' results and files."""
    versions = dict(bind.execute(sa.select(batches.c.id, batches.c.product_version_id)).all())
    codes = dict(bind.execute(sa.select(batches.c.id, batches.c.code)).all())
    member_ids = set(bind.execute(sa.select(batch_members.c.id)).scalars())
    done = bind.execute(
        sa.select(jobs)
        .where(jobs.c.kind == "batch_packet", jobs.c.state == "done")
        .order_by(jobs.c.created_at, jobs.c.id)
    ).all()
    for job in done:
        result = job.result or {}
        code = result.get("verification_code")
        if job.object_id not in versions or not code or code in used:
            continue
        sha = str(result.get("sha256") or "")
        size = int(result.get("bytes") or 0)
        path = root / "batches" / str(result.get("file") or "")
        if result.get("file") and path.is_file():
            pdf = path.read_bytes()
            sha, size = _put(root, pdf), len(pdf)
        elif len(sha) != 64:
            continue
        # A packet whose file is gone keeps its row: its printed codes still verify, and
        # a download says the file is missing (render it again), as before.
        used.add(code)
        rendered = job.finished_at or job.created_at
        bind.execute(packets.insert().values(
            kind="batch_cover",
            batch_id=job.object_id,
            packet_number=codes[job.object_id],
            verification_code=code,
            sha256=sha,
            storage_key=sha,
            byte_size=size,
            rendered_at=rendered,
            job_id=job.id,
            product_version_id=versions[job.object_id],
        ))
        cover_id = bind.execute(
            sa.select(packets.c.id).where(packets.c.verification_code == code)
        ).scalar_one()
        for member in result.get("members") or []:
            member_code = member.get("verification_code")
            if member.get("member_id") not in member_ids or not member_code or member_code in used:
                continue
            used.add(member_code)
            # Member packets were merged without being kept on their own: the row points
            # at the batch packet that holds them.
            bind.execute(packets.insert().values(
                kind="batch_member",
                batch_id=job.object_id,
                batch_member_id=member["member_id"],
                cover_id=cover_id,
                packet_number=str(member.get("packet_number") or ""),
                verification_code=member_code,
                sha256=sha,
                storage_key=sha,
                byte_size=size,
                rendered_at=rendered,
                job_id=job.id,
                product_version_id=versions[job.object_id],
            ))


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('packet_pdf', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('packet_rendered_at', finportal.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('packet_job_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('packet_sha256', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_referrals_verification_code'), ['verification_code'])

    bind = op.get_bind()
    root = _packet_dir()
    _restore_referral_blobs(bind, root)
    _restore_batch_files(bind, root)

    with op.batch_alter_table('packets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packets_sha256'))
        batch_op.drop_index(batch_op.f('ix_packets_referral_id'))
        batch_op.drop_index(batch_op.f('ix_packets_cover_id'))
        batch_op.drop_index(batch_op.f('ix_packets_batch_member_id'))
        batch_op.drop_index(batch_op.f('ix_packets_batch_id'))

    op.drop_table('packets')


def _restore_referral_blobs(bind, root):
    """Put each referral's newest packet back into its row (blob, SHA-256, code, time, job)."""
    used = set(bind.execute(sa.select(packets.c.verification_code)).scalars())
    newest = {}
    for row in bind.execute(
        sa.select(packets).where(packets.c.kind == "referral").order_by(packets.c.id)
    ):
        newest[row.referral_id] = row
    for referral_id in bind.execute(sa.select(referrals.c.id).order_by(referrals.c.id)).scalars():
        packet = newest.get(referral_id)
        if packet is None:
            # The old schema gives every referral its code when it is made.
            bind.execute(referrals.update().where(referrals.c.id == referral_id)
                         .values(verification_code=_new_code(used)))
            continue
        pdf = _get(root, packet.storage_key)
        bind.execute(referrals.update().where(referrals.c.id == referral_id).values(
            verification_code=packet.verification_code,
            packet_pdf=pdf,
            # Without its file the packet counts as not rendered: the job renders it again.
            packet_sha256=packet.sha256 if pdf is not None else None,
            packet_rendered_at=packet.rendered_at if pdf is not None else None,
            packet_job_id=packet.job_id,
        ))


def _restore_batch_files(bind, root):
    """Write each batch packet job's file back to PACKET_DIR/batches and name it in the result."""
    covers = {row.id: row for row in bind.execute(
        sa.select(packets).where(packets.c.kind == "batch_cover"))}
    by_job = {row.job_id: row for row in covers.values() if row.job_id}
    members = {}
    for row in bind.execute(
        sa.select(packets).where(packets.c.kind == "batch_member").order_by(packets.c.id)
    ):
        members.setdefault(row.cover_id, []).append(row)
    for job in bind.execute(
        sa.select(jobs).where(jobs.c.kind == "batch_packet", jobs.c.state == "done")
    ).all():
        result = dict(job.result or {})
        cover = covers.get(result.get("packet_id")) or by_job.get(job.id)
        if cover is None:
            continue
        name = f"batch-{cover.batch_id}-{cover.sha256[:16]}.pdf"
        pdf = _get(root, cover.storage_key)
        if pdf is not None:
            folder = root / "batches"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(pdf)
        result.update(
            file=name,
            sha256=cover.sha256,
            bytes=cover.byte_size,
            verification_code=cover.verification_code,
            members=[
                {
                    "member_id": m.batch_member_id,
                    "packet_number": m.packet_number,
                    "verification_code": m.verification_code,
                }
                for m in members.get(cover.id, [])
            ],
        )
        bind.execute(jobs.update().where(jobs.c.id == job.id).values(result=result))
