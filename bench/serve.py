"""Serve an ASGI app from bench/ with the uvicorn options `authsvc serve` uses.

    python bench/serve.py ceiling:app --port 8001
    python bench/serve.py verify_app:create_app_from_env --factory --port 8002

One worker; the logging set up as `authsvc serve` sets it (development: text lines on
stdout, our access log on). `run.py` starts it under `taskset`, like `authsvc serve`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from authsvc.logs import logging_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("app", help="module:attribute, the module in bench/")
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args()
    uvicorn.run(  # the options of authsvc.cli._serve
        args.app,
        factory=args.factory,
        app_dir=str(Path(__file__).parent),
        host="127.0.0.1",
        port=args.port,
        workers=1,
        log_level=args.log_level,
        log_config=logging_config(json_logs=False, level=args.log_level),
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
