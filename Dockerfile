FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dashboard ./dashboard
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir . && useradd --create-home drainboard
USER drainboard
EXPOSE 3000
# Listening beyond loopback needs DRAINBOARD_USERNAME/PASSWORD or DRAINBOARD_TOKEN (or --no-auth).
ENTRYPOINT ["drainboard"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
