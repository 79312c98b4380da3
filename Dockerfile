# The fake CRM (and the fake shop beside it) as the docker stack's `crm` service: `stocksim serve`.
FROM python:3.12.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sim ./sim
COPY fakes ./fakes
COPY features ./features
RUN pip install . && useradd --system --uid 10001 stocksim
USER stocksim

EXPOSE 8000 8001
ENTRYPOINT ["stocksim", "serve"]
CMD ["--host", "0.0.0.0", "--crm-port", "8000", "--shop-port", "8001", "--json"]
