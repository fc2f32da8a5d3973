#!/usr/bin/env python3
"""Drives Debian's chromium, headless, through the DevTools protocol, for the web inspector's tests.

usage: browser.py capture URL SHOTS   open a capture: a message's violation on its member, a filter
       browser.py hold URL SHOTS      arm a hold, wait for a held message, edit it, forward it

URL is the one basetap printed (with its token); screenshots go to the SHOTS directory. Prints one
line per step ("ok: ..." or a JSON value the test reads) and exits non-zero on the first failure.
"""
import asyncio
import base64
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websockets


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method, **params):
        self.next_id += 1
        mine = self.next_id
        await self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == mine:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    async def js(self, expression):
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    async def until(self, expression, what, seconds=20):
        """The expression's value once it is truthy. It is evaluated in the page again at every
        change of the document (a MutationObserver), not on a timer; a navigation that replaces the
        page while it waits starts the wait again in the new one."""
        waiting = ("new Promise((resolve) => {"
                   " const check = () => { let v; try { v = (%s) } catch (e) { v = null }"
                   " if (v) { observer.disconnect(); resolve(v) } };"
                   " const observer = new MutationObserver(check);"
                   " observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"
                   " check() })" % expression)
        deadline = time.monotonic() + seconds
        while True:
            try:
                return await asyncio.wait_for(self.js(waiting), max(0, deadline - time.monotonic()))
            except RuntimeError:
                if time.monotonic() > deadline:
                    break
            except asyncio.TimeoutError:
                break
        raise SystemExit("timed out waiting for " + what)

    async def shot(self, directory, name):
        data = await self.call("Page.captureScreenshot", format="png")
        with open(os.path.join(directory, name), "wb") as f:
            f.write(base64.b64decode(data["data"]))

    async def type_into(self, selector, text):
        await self.js("(() => { const e = document.querySelector(%s); e.focus(); e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()"
                      % (json.dumps(selector), json.dumps(text)))


def start_chromium():
    profile = tempfile.mkdtemp(prefix="basetap-chromium-")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        raise SystemExit("chromium is not installed (make test installs it)")
    process = subprocess.Popen([binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1400,900", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Chromium announces its port on standard error ("DevTools listening on ws://127.0.0.1:PORT/...");
    # a thread reads that stream to its end, so that the browser never blocks on a full pipe.
    announced = queue.Queue()

    def read_errors():
        for line in process.stderr:
            match = re.match(rb"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                announced.put(int(match.group(1)))
        announced.put(None)

    threading.Thread(target=read_errors, daemon=True).start()
    try:
        port = announced.get(timeout=30)
    except queue.Empty:
        port = None
    if port is None:
        process.kill()
        raise SystemExit("chromium did not start")
    return process, profile, port


async def open_page(port, url):
    request = urllib.request.Request("http://127.0.0.1:%d/json/new?%s" % (port, url), method="PUT")
    target = json.loads(urllib.request.urlopen(request).read())
    ws = await websockets.connect(target["webSocketDebuggerUrl"], max_size=None)
    page = Page(ws)
    await page.call("Page.enable")
    await page.call("Runtime.enable")
    return page


async def capture(page, shots):
    await page.until("document.body.dataset.ready === 'true' && document.querySelectorAll('#rows .row').length > 0", "the timeline")
    print("ok: timeline with %d rows" % await page.js("document.querySelectorAll('#rows .row').length"), flush=True)
    # Open the first message with an error badge: its violation is drawn on the member it names.
    opened = await page.js("""(() => { const row = [...document.querySelectorAll('#rows .row')].find(r => r.querySelector('.badge.error'));
                              if (!row) return null; row.click(); return row.dataset.seq })()""")
    if not opened:
        raise SystemExit("no message with an error in the timeline")
    marked = await page.until("(() => { const f = document.querySelector('#detail .flagged'); const v = document.querySelector('#detail .vio code');"
                              " return f && v ? {pointer: f.dataset.pointer, rule: v.textContent, member: f.textContent} : null })()", "a marked member")
    print(json.dumps({"opened": int(opened), "marked": marked}), flush=True)
    await page.shot(shots, "inspector-message.png")
    total = await page.js("document.querySelectorAll('#rows .row').length")
    await page.type_into("#filter", "severity:error")
    await page.until("document.querySelectorAll('#rows .row').length > 0 && document.querySelectorAll('#rows .row').length < %d && [...document.querySelectorAll('#rows .row')].every(r => r.querySelector('.badge.error'))" % total,
                     "the filtered timeline")
    print(json.dumps({"filtered": await page.js("document.querySelectorAll('#rows .row').length"), "total": total}), flush=True)
    await page.shot(shots, "inspector-filter.png")
    await page.type_into("#filter", "type:a (id:b")
    error = await page.until("document.querySelector('#filter-error').textContent.includes('^') && document.querySelector('#filter-error').textContent", "the filter error")
    print(json.dumps({"error": error}), flush=True)


async def jump(page, shots):
    """A long capture, read to its end before the page opens: End goes to its last message and "go to
    seq" to any, with a screenful of rows in the page."""
    await page.until("document.body.dataset.ready === 'true' && document.querySelectorAll('#rows .row').length > 0", "the timeline")
    count = await page.js("fetch('/api/timeline').then(r => r.json()).then(t => t.count)")
    last = await page.js("fetch('/api/messages?limit=1&offset=%d').then(r => r.json()).then(l => l[0].seq)" % (count - 1))
    await page.until("document.querySelector('#count').textContent === '%d messages'" % count, "the page to count every message")
    await page.js("(() => { const t = document.querySelector('#timeline'); t.focus();"
                  " t.dispatchEvent(new KeyboardEvent('keydown', {key: 'End', bubbles: true})); return true })()")
    end = await page.until("(() => { const r = document.querySelector('#rows .row.selected'); return r && Number(r.dataset.seq) })()", "the last message", seconds=30)
    rows = await page.js("document.querySelectorAll('#rows .row').length")
    await page.shot(shots, "inspector-end.png")
    middle = last // 2
    await page.js("(() => { const j = document.querySelector('#jump'); j.value = '%d';"
                  " j.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); return true })()" % middle)
    went = await page.until("(() => { const r = document.querySelector('#rows .row.selected'); return r && Number(r.dataset.seq) === %d && Number(r.dataset.seq) })()" % middle,
                            "the message in the middle", seconds=30)
    print(json.dumps({"last": last, "end": end, "rows": rows, "middle": went}), flush=True)


async def hold(page, shots):
    await page.until("document.body.dataset.ready === 'true' && document.body.classList.contains('live')", "the live page")
    await page.js("document.querySelector('#hold-filter').value = 'dir:c2s id:m3'; document.querySelector('#hold-apply').click(); true")
    await page.until("document.querySelector('#hold-error').textContent === 'holding'", "the hold to be armed")
    print("armed", flush=True)
    await page.until("!!document.querySelector('#held .held textarea')", "a held message", seconds=30)
    # The live tail shows what went through before the held message.
    await page.until("document.querySelectorAll('#rows .row').length >= 3", "the live timeline", seconds=10)
    await page.shot(shots, "inspector-held.png")
    text = await page.js("document.querySelector('#held .held textarea').value")
    print(json.dumps({"held": text}), flush=True)
    await page.js("(() => { const t = document.querySelector('#held .held textarea'); t.value = t.value.replace('fox', 'cat');"
                  " document.querySelector('#held .held .forward').click(); return true })()")
    await page.until("!document.querySelector('#held .held')", "the held message to go")
    print("forwarded", flush=True)


async def main():
    scenario, url, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    process, profile, port = start_chromium()
    try:
        page = await open_page(port, url)
        await {"capture": capture, "jump": jump, "hold": hold}[scenario](page, shots)
        await page.ws.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


asyncio.run(main())
