# Drainboard in a container: the wheel users install, nothing else.
#
#   docker build -t drainboard .
#   docker run -e REDIS_URL=redis://:password@redis-host:6379/0 \
#     -e DRAINBOARD_USERNAME=admin -e DRAINBOARD_PASSWORD=change-me -p 3000:3000 drainboard
#   open http://localhost:3000/admin/queues/
#
# CI builds this file on every change: tests/integration/test_image.py builds it with podman
# (`--format docker`, which keeps the HEALTHCHECK), serves from the image as its user (uid 10001),
# fetches pages and runs the HEALTHCHECK's command. Where no registry answers, the base is a
# stand-in made with debootstrap under the name python:3.11-slim (see the README's Docker section).
# The steps are those tests/integration/test_packaging.py also runs: `pip wheel --no-deps` from
# these five sources, `pip install` of that wheel into a fresh environment, `drainboard serve`.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY dashboard ./dashboard
COPY templates ./templates
COPY static ./static
COPY locales ./locales
RUN pip wheel --no-deps --no-cache-dir -w /dist .

FROM python:3.11-slim AS runtime
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl \
    && useradd --create-home --uid 10001 drainboard
USER drainboard
WORKDIR /home/drainboard
EXPOSE 3000
# Liveness without Redis commands (GET /healthz costs none); slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"
# Listening beyond loopback needs DRAINBOARD_USERNAME/PASSWORD or DRAINBOARD_TOKEN (or --no-auth
# behind your own authenticating proxy). REDIS_URL and the other settings come from the environment.
ENTRYPOINT ["drainboard"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
