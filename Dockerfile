# The image of `auto` itself: the runner that `auto render --runner` schedules as a Kubernetes
# CronJob (`auto run --once /automations`), or that cron / a systemd timer starts with
# `docker run` (docs/running-at-scale.md). Build and push it:
#
#   make image IMAGE=registry.example.com/ml/auto-runner:0.1.0
#   docker push registry.example.com/ml/auto-runner:0.1.0
#
# BASE_IMAGE is any Debian-based image with python3 and its venv module, of the same Python
# minor version as the .venv that makes the wheelhouse (default: Docker Hub's 3.11 slim).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# git clones the model repositories (the source step); ca-certificates for https remotes.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# auto in its own virtual environment (Debian's python refuses system-wide pip installs), with
# the `aws` extra for assumed roles. `make image` first puts auto and every dependency as
# wheels in build/wheelhouse, made on the host by the .venv's pip (so the host's index, proxy
# and CA settings apply, and nothing of them reaches a layer); the image then installs from
# them without an index. Without a wheelhouse (a plain `docker build .`) it installs from
# PyPI. Only what .dockerignore lets through is copied.
COPY pyproject.toml README.md /src/
COPY qwak_auto /src/qwak_auto
COPY pyproject.toml build/wheelhous[e] /wheels/
RUN python3 -m venv /opt/auto \
 && if ls /wheels/*.whl >/dev/null 2>&1; then \
      /opt/auto/bin/pip install --no-cache-dir --disable-pip-version-check \
        --no-index --find-links /wheels "qwak-auto[aws]"; \
    else \
      /opt/auto/bin/pip install --no-cache-dir --disable-pip-version-check "/src[aws]"; \
    fi \
 && rm -rf /src /wheels

# Not root. The state home is /var/lib/auto (a volume in the CronJob; PostgreSQL through
# AUTO_STATE_URL when several runners share the state); automation files are mounted at
# /automations.
RUN useradd --system --uid 10001 --home-dir /var/lib/auto --create-home auto
ENV PATH=/opt/auto/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AUTO_HOME=/var/lib/auto \
    AUTO_LOG_FORMAT=json
USER 10001
WORKDIR /var/lib/auto
ENTRYPOINT ["auto"]
CMD ["--help"]
