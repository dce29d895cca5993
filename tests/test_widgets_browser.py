"""The attention explorer in a real browser, served the way a user starts it.

`fer-explore explore CHECKPOINT` (run as `python -m fer_explore.app.cli explore`; before the CLI has the subcommand, through
`fer_explore.app.server.explore_cli`, which runs the same `explore_main`) serves
the attention explorer with Voila on 127.0.0.1 and prints its address. This test writes a checkpoint, runs that
command, opens the printed address in Debian's Chromium (driven over the DevTools protocol by the `playwright`
client; `playwright install` is never run, nothing is downloaded), waits for the explorer to draw, moves the
**head** control from head0 to head2 and checks that the head picture changed (its PNG bytes, by SHA-256 in the
page, and its pixels on screen) while the prediction picture did not, then uploads a photo through the upload
button and waits for the explorer to find, crop and show its face. It fails on a JavaScript error, a failed
request or any request to a host other than 127.0.0.1. The screenshot of the page after the change is kept
in tests/artifacts/widgets/ (git-ignored), with the one after the upload and report.json (timings, what was checked).

The command is stopped at the end (SIGTERM, as Ctrl-C would); the test checks that it exits, that its server
and kernel are gone and that the port is closed. Every wait is bounded. This test never skips: a machine without
Chromium, playwright or voila fails it.
"""
import io, json, os, queue, shutil, signal, socket, subprocess, sys, threading, time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT/'tests'/'artifacts'/'widgets'
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                  '--disable-sync', '--no-first-run']  # playwright adds --headless
START_TIMEOUT_S = 150     # the command prints its address (imports torch, loads the checkpoint, starts Voila)
DRAW_TIMEOUT_S = 150      # the page shows the explorer (Voila starts a kernel that imports torch and draws)
CHANGE_TIMEOUT_S = 60     # the head picture changes after the head control moved

SHA256_JS = """async (sel) => {
  const img = document.querySelector(sel);
  const buf = await (await fetch(img.src)).arrayBuffer();
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [img.src, Array.from(new Uint8Array(d)).map(b => b.toString(16).padStart(2, '0')).join(''), buf.byteLength];
}"""


def chromium() -> str:
    exe = shutil.which('chromium') or shutil.which('chromium-browser') or '/usr/bin/chromium'
    assert Path(exe).exists(), "Debian's chromium is not installed: `apt-get install chromium` (tools/test.sh does it)"
    return exe


def _descendants(pid: int) -> list[int]:
    from fer_explore.app.server import _children
    return _children(pid)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
        return stat.rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError: return False


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1): return True
    except OSError: return False


def _read_lines(stream, q):
    for line in iter(stream.readline, ''): q.put(line)
    q.put(None)


def _stop(proc, timeout=30):
    "SIGTERM the explore command (what Ctrl-C does), then SIGKILL its process group if it does not exit in time."
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try: proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)
    return proc.returncode


def explore_command(*args) -> list[str]:
    "`fer-explore explore ARGS` as a command: through the package's CLI when it has the subcommand, else `explore_cli`."
    import argparse
    from fer_explore.app.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if 'explore' in sub.choices: return [sys.executable, '-m', 'fer_explore.app.cli', 'explore', *args]
    return [sys.executable, '-c', 'import sys; from fer_explore.app.server import explore_cli; sys.exit(explore_cli(sys.argv[1:]))', *args]


def synthetic_photo() -> bytes:
    "A PNG 'photo': SynthFER's easy face 0 (112 px, frontal) pasted into a grey 260 x 260 scene (the Haar cascade finds it)."
    from fer_explore.data.synthetic import SynthFER
    canvas = np.full((260, 260, 3), 90, np.uint8)
    canvas[60:172, 90:202] = (SynthFER('easy', 'valid', n=20, size=112)[0].image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    buf = io.BytesIO(); Image.fromarray(canvas).save(buf, format='PNG'); return buf.getvalue()


def _pixels(png: bytes) -> np.ndarray: return np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(np.int16)


def test_attention_explorer_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright, TimeoutError as PlaywrightTimeout   # pinned in requirements-dev.txt; an ImportError fails the test
    import torch
    from fer_explore.core import canonical_classes
    from fer_explore.models import create_model
    from fer_explore.train.checkpoint import save_checkpoint
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = {'checks': []}
    t0 = time.time()

    # a checkpoint as `fer-explore train` writes it (an untrained small DAN: training is not what this test is about)
    torch.manual_seed(0)
    ck = save_checkpoint(tmp_path/'dan.pt', create_model('dan', preset='small'), canonical_classes(7), epoch=0)

    port = __import__('fer_explore.app.server', fromlist=['free_port']).free_port()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'PYTHONWARNINGS': 'ignore'}
    log = open(ARTIFACTS/'explore.log', 'w')
    cmd = explore_command(str(ck), '--port', str(port))
    report['command'] = 'python -m fer_explore.app.cli explore' if 'fer_explore.app.cli' in cmd else 'fer_explore.app.server.explore_cli'
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=tmp_path, start_new_session=True)
    lines = queue.Queue(); threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    kids, external, failed, errors = [], [], [], []
    try:
        url, deadline = None, time.time() + START_TIMEOUT_S
        while url is None and time.time() < deadline:
            try: line = lines.get(timeout=1)
            except queue.Empty: continue
            assert line is not None, f"`explore` exited ({proc.poll()}) before printing an address; see {ARTIFACTS/'explore.log'}"
            if 'http://' in line: url = line[line.index('http://'):].split()[0]
        assert url, f"`explore` printed no address within {START_TIMEOUT_S} s"
        assert url.startswith(f'http://127.0.0.1:{port}/?token='), url   # local only, with an access token
        report['t_address_s'] = round(time.time() - t0, 1)
        kids = _descendants(proc.pid)

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS, timeout=60_000)
            try:
                page = browser.new_page(viewport={'width': 1280, 'height': 1200})
                page.on('request', lambda r: external.append(r.url) if not r.url.startswith(('http://127.0.0.1', 'blob:', 'data:')) else None)
                page.on('requestfailed', lambda r: failed.append(f"{r.url} ({r.failure})"))
                page.on('pageerror', lambda e: errors.append(str(e)))
                page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
                page.route(lambda u: not u.startswith('http://127.0.0.1'), lambda route: route.abort())   # nothing leaves the machine
                page.goto(url, timeout=60_000, wait_until='domcontentloaded')
                head_sel = 'img.fer-head-image'
                page.wait_for_function(f"() => {{ const i = document.querySelector('{head_sel}'); return i && i.src && i.naturalWidth > 0; }}",
                                       timeout=DRAW_TIMEOUT_S * 1000)
                report['t_drawn_s'] = round(time.time() - t0, 1)
                kids = sorted(set(kids) | set(_descendants(proc.pid)))   # now with the kernel Voila started
                report['processes'] = len(kids) + 1
                status = page.locator('.fer-status').inner_text()
                assert 'dan.pt (dan, checkpoint of epoch 0)' in status and 'predicted' in status, status
                select = page.locator('.fer-head select')
                assert select.input_value() == 'head0'
                assert [o.strip() for o in select.locator('option').all_inner_texts()] == ['head0', 'head1', 'head2', 'head3']
                src0, sha0, n0 = page.evaluate(SHA256_JS, head_sel)
                pred0 = page.evaluate(SHA256_JS, 'img.fer-pred-image')[1]
                shot0 = page.locator(head_sel).screenshot()
                report['checks'].append(f"explorer drawn: head picture {n0} bytes, head control at head0 of 4 heads")

                t_move = time.time()
                select.select_option('head2')
                page.wait_for_function(f"(s) => document.querySelector('{head_sel}').src !== s && "
                                       f"document.querySelector('{head_sel}').naturalWidth > 0", arg=src0,
                                       timeout=CHANGE_TIMEOUT_S * 1000)
                page.wait_for_timeout(300)
                report['t_redraw_s'] = round(time.time() - t_move, 2)
                src1, sha1, n1 = page.evaluate(SHA256_JS, head_sel)
                shot1 = page.locator(head_sel).screenshot()
                assert sha1 != sha0, "the head picture's bytes did not change when the head control moved"
                a0, a1 = _pixels(shot0), _pixels(shot1)
                assert a0.shape == a1.shape and (np.abs(a0 - a1).sum(-1) > 30).mean() > 0.01, \
                    "the head picture on screen did not change when the head control moved"
                assert page.evaluate(SHA256_JS, 'img.fer-pred-image')[1] == pred0, "moving the head must not redraw the prediction"
                report['checks'].append(f"head0 -> head2: picture bytes changed ({sha0[:12]} -> {sha1[:12]}), "
                                        f"{(np.abs(a0 - a1).sum(-1) > 30).mean():.1%} of its pixels changed on screen, prediction unchanged")
                page.screenshot(path=str(ARTIFACTS/'attention_explorer.png'), full_page=True)
                (ARTIFACTS/'head_before.png').write_bytes(shot0); (ARTIFACTS/'head_after.png').write_bytes(shot1)

                # the embedding explorer below: a click on the scatter picks the point drawn nearest to it
                scatter, picked = page.locator('img.fer-scatter-image'), 'img.fer-picked-image'
                page.wait_for_function(f"() => {{ const i = document.querySelector('{picked}'); return i && i.naturalWidth > 0; }}",
                                       timeout=DRAW_TIMEOUT_S * 1000)
                scatter.scroll_into_view_if_needed()
                readout = page.locator('.widget-readout').last
                assert readout.inner_text().strip() == '0', readout.inner_text()   # face 0 picked at the start
                picked0 = page.evaluate(SHA256_JS, picked)
                box = scatter.bounding_box()
                t_click = time.time()
                for fx, fy in ((0.7, 0.35), (0.3, 0.7), (0.5, 0.5)):   # inside the axes; the next spot if face 0 was nearest
                    scatter.click(position={'x': box['width'] * fx, 'y': box['height'] * fy})
                    try:
                        page.wait_for_function(f"(s) => document.querySelector('{picked}').src !== s", arg=picked0[0],
                                               timeout=CHANGE_TIMEOUT_S * 1000 // 3)
                        break
                    except PlaywrightTimeout: continue
                page.wait_for_timeout(300)
                report['t_pick_s'] = round(time.time() - t_click, 2)
                chosen = readout.inner_text().strip()
                assert chosen != '0' and page.evaluate(SHA256_JS, picked)[1] != picked0[1], "the click picked no other face"
                page.screenshot(path=str(ARTIFACTS/'embedding_explorer.png'), full_page=True)
                report['checks'].append(f"embedding scatter clicked: face {chosen} picked (slider moved there), its face panel drawn")

                # a photo through the upload button: the face is found, cropped, and becomes the explorer's face
                photo = tmp_path/'photo.png'; photo.write_bytes(synthetic_photo())
                maps_src = page.locator('img.fer-maps-image').get_attribute('src')
                with page.expect_file_chooser(timeout=CHANGE_TIMEOUT_S * 1000) as chooser:
                    page.locator('.widget-upload').first.click()
                chooser.value.set_files(str(photo))
                page.wait_for_function("() => document.querySelector('.fer-status').innerText.includes('photo: largest face found')",
                                       timeout=CHANGE_TIMEOUT_S * 1000)
                for sel, before in ((head_sel, src1), ('img.fer-maps-image', maps_src)):   # the head panel, then the row of all maps
                    page.wait_for_function(f"(s) => document.querySelector('{sel}').src !== s", arg=before, timeout=CHANGE_TIMEOUT_S * 1000)
                page.wait_for_timeout(300)
                assert page.locator('.fer-head select').input_value() == 'head2'   # the chosen head stays
                page.screenshot(path=str(ARTIFACTS/'attention_explorer_photo.png'), full_page=True)
                report['checks'].append("photo uploaded: its face was found and cropped, the pictures redrawn, head2 kept")
            finally:
                browser.close()
        assert not external, f"requests to other hosts: {external[:5]}"
        assert not failed, f"failed requests: {failed[:5]}"
        assert not errors, f"JavaScript errors: {errors[:5]}"
    finally:
        rc = _stop(proc)
        log.close()
        report['t_total_s'] = round(time.time() - t0, 1)
        (ARTIFACTS/'report.json').write_text(json.dumps(report, indent=1))
    assert rc == 0, f"`explore` exited with status {rc} on SIGTERM; see {ARTIFACTS/'explore.log'}"
    time.sleep(0.5)
    left = [k for k in kids if _alive(k)]
    for k in left: os.kill(k, signal.SIGKILL)
    assert not left, f"processes of `explore` still alive after it stopped: {left}"
    assert not _listening(port), f"port {port} still accepts connections after `explore` stopped"


def test_explore_lab_serves_the_notebooks(tmp_path):
    "`explore --lab` starts JupyterLab on 127.0.0.1 with a token, on the notebooks folder; SIGTERM stops it."
    import urllib.request
    from fer_explore.app.server import free_port
    port = free_port()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'PYTHONWARNINGS': 'ignore',
           'JUPYTER_CONFIG_DIR': str(tmp_path/'config'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'runtime')}
    cmd = explore_command('--lab', '--port', str(port))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path,
                            start_new_session=True)
    lines = queue.Queue(); threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    kids = []
    try:
        line = lines.get(timeout=START_TIMEOUT_S)
        assert line and 'http://' in line, f"`explore --lab` printed {line!r}"
        url = line[line.index('http://'):].split()[0]
        assert url.startswith(f'http://127.0.0.1:{port}/lab?token='), url
        token = url.split('token=')[1]
        deadline, page = time.time() + START_TIMEOUT_S, None
        while time.time() < deadline and page is None:
            try: page = urllib.request.urlopen(url, timeout=10).read().decode()
            except OSError: time.sleep(0.5)
        assert page and 'JupyterLab' in page, "JupyterLab did not answer at the printed address"
        api = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/api/contents?token={token}', timeout=10))
        names = {c['name'] for c in api['content']}
        assert '45_app.widgets.ipynb' in names and 'index.ipynb' in names, sorted(names)[:10]   # the step-by-step notebooks
        try: urllib.request.urlopen(f'http://127.0.0.1:{port}/api/contents', timeout=10); assert False, 'no token, yet served'
        except urllib.error.HTTPError as e: assert e.code == 403, e.code
        kids = _descendants(proc.pid)
    finally:
        rc = _stop(proc)
    assert rc == 0, rc
    time.sleep(0.5)
    left = [k for k in kids if _alive(k)]
    for k in left: os.kill(k, signal.SIGKILL)
    assert not left and not _listening(port)
