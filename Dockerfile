# Treaty Ledger: the API, the projection worker and the command line, in one image.
# docker-compose.yml runs it three ways (import, api, worker); see docs/deploying.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs; data/ stays in /app so `treaty-ledger import data/open-skies.yaml` works.
COPY pyproject.toml README.md ./
COPY treaty_ledger/__init__.py treaty_ledger/bootstrap.py treaty_ledger/py.typed ./treaty_ledger/
COPY domain/ ./domain/
COPY projections/ ./projections/
COPY store/ ./store/
COPY api/ ./api/
COPY cli/ ./cli/
COPY data/ ./data/

# The package and its runtime dependencies, without the test extra; then a user without privileges.
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && groupadd --gid 10001 ledger \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin ledger

# ledger (numeric, so that orchestrators can tell it is not root)
USER 10001:10001

EXPOSE 8000

# The process is up: the standard library only, no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["treaty-ledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
