# One image for web, workers and beat. TORCH_SPEC picks the torch build: the default CPU wheel
# index for app boxes; GPU boxes build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=itembank.settings ITEMBANK_MANIFEST_STATIC=1 \
    ITEMBANK_DATA_DIR=/data MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles

RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 itembank && mkdir -p /data/media && chown -R itembank /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY itembank itembank
COPY search search
COPY embeddings embeddings
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}" && pip install .
COPY . .
RUN python manage.py collectstatic --noinput -v 0 && python manage.py compilemessages -v 0

USER itembank
EXPOSE 8000
CMD ["gunicorn", "itembank.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
