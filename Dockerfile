# Beckon API / Celery image (used by the api, worker, beat and migrate services).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from the CPU-only PyTorch index, so `pip install .` finds the pin
# already satisfied instead of pulling the CUDA build. On a machine with a local
# wheel (a wheelhouse / --find-links) the same pin torch==2.13.0 resolves locally.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY backend ./backend
COPY matching ./matching
COPY webhooks ./webhooks
COPY voice_skills ./voice_skills
RUN pip install . && rm -rf build *.egg-info

# Non-root user; /data is the named volume for BECKON_DATA_DIR (the volume takes
# this directory's ownership when first created).
RUN useradd --create-home --uid 10001 beckon \
    && mkdir -p /data \
    && chown beckon:beckon /data
USER beckon
# the image serves for real: it refuses to start without SECRET_KEY and
# DATABASE_URL, cookies are Secure, nothing is only logged (set
# BECKON_ENV=development to try it without them)
ENV BECKON_DATA_DIR=/data \
    BECKON_ENV=production

EXPOSE 8000
CMD ["gunicorn", "--config", "python:backend.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "2"]
