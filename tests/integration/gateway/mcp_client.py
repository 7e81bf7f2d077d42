"""The official MCP Python SDK against a running `smith gateway`: for each mode given, it
lists the tools, calls `nap` with a progress callback, `echo` with good and with bad
arguments, and prints one JSON line of what it saw. Run by gateway_sdk_test.cpp.

  mcp_client.py URL TOKEN MODE...     (MODE: auto, legacy or 2026-07-28)
"""
import json
import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def session(url, token, mode):
    steps = []

    async def on_progress(progress, total, message):
        steps.append([progress, total, message])

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            tools = await client.list_tools()
            nap = await client.call_tool("nap", {"ms": 600}, progress_callback=on_progress)
            echo = await client.call_tool("echo", {"text": "hello"})
            bad = await client.call_tool("echo", {"text": 5})
            return {
                "mode": mode,
                "protocol": client.protocol_version,
                "tools": [t.name for t in tools.tools],
                "nap": {"is_error": nap.is_error, "text": nap.content[0].text},
                "progress": steps,
                "echo": {"is_error": echo.is_error, "structured": echo.structured_content},
                "bad": {"is_error": bad.is_error, "text": bad.content[0].text},
            }


def main():
    url, token, modes = sys.argv[1], sys.argv[2], sys.argv[3:]
    for mode in modes:
        print(json.dumps(anyio.run(session, url, token, mode)), flush=True)


if __name__ == "__main__":
    main()
