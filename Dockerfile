# authsvc container image.
#
#   docker build -t authsvc .
#   docker run --rm -p 8000:8000 -e AUTHSVC_ENV=production \
#     -e AUTHSVC_JWT_SECRET=... -e AUTHSVC_DATABASE_URL=postgresql+asyncpg://... authsvc
#
# compose.yaml runs it next to PostgreSQL; container/test.sh builds and tests it with podman.

# ---- builder: install the project (and only what its pyproject.toml asks for) into a venv
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY . .

# `pip install .` builds the wheel from pyproject.toml (the Alembic migrations ship inside it)
# and installs it with its dependencies. The optional "pipconf" secret is a pip.conf for
# builds that must reach PyPI another way (a mirror, a TLS-intercepting proxy's CA); a plain
# `docker build` has no such secret and uses PyPI directly.
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    pip install --no-cache-dir . \
    && pip check

# ---- runtime: the venv, a non-root user, nothing else
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUTHSVC_WORKERS=1

# A fixed uid/gid so file ownership on volumes is predictable. Its home is the working
# directory, where the default SQLite database and development secret would be written.
RUN groupadd --gid 10001 authsvc \
    && useradd --uid 10001 --gid authsvc --home-dir /app --create-home \
       --shell /usr/sbin/nologin authsvc

COPY --from=builder /opt/venv /opt/venv

# Numeric, so a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /app

EXPOSE 8000

# Liveness only (/healthz); /readyz would flap with the database. No curl in the slim
# image, so Python's urllib does the request: any error or non-2xx status exits non-zero.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Exec form: authsvc (uvicorn) is PID 1 and receives SIGTERM itself for a graceful stop.
# Migrations run first; the worker count comes from AUTHSVC_WORKERS.
CMD ["authsvc", "serve", "--host", "0.0.0.0", "--port", "8000"]
