// Opens a page in headless Chromium (Debian's chromium) through the DevTools
// protocol, as a person would: the browser meets the server's HTTP Basic
// challenge and answers it with the credentials given, once per width.
// For each width it prints what the rendered DOM holds (the result of
// --probe, a JavaScript expression evaluated in the page) and saves a
// full-page screenshot.  Needs node >= 20 (run with --experimental-websocket
// before node 22).  Bounded: gives up after --timeout seconds, and always
// ends the browser it started.
//
//   node browse.js --url URL --user U --password P --out DIR
//        --width NAME:WxH [--width ...] --probe EXPR [--timeout S]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function parseArgs(argv) {
    const o = { widths: [], timeout: 40 };
    for (let i = 0; i < argv.length; i += 2) {
        const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
        if (k === 'width') {
            const m = /^(\w+):(\d+)x(\d+)$/.exec(v);
            if (!m) throw new Error('bad --width ' + v);
            o.widths.push({ name: m[1], width: +m[2], height: +m[3] });
        } else {
            o[k] = v;
        }
    }
    for (const k of ['url', 'out', 'probe'])
        if (!o[k]) throw new Error('--' + k + ' is needed');
    return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function devtoolsUrl(profile, child) {
    const file = path.join(profile, 'DevToolsActivePort');
    for (let i = 0; i < 200; i++) {       // 20 s at most
        if (child.exitCode !== null) throw new Error('chromium exited');
        if (fs.existsSync(file)) {
            const [port, p] = fs.readFileSync(file, 'utf8').split('\n');
            if (p) return `ws://127.0.0.1:${port}${p}`;
        }
        await sleep(100);
    }
    throw new Error('chromium did not open its DevTools port');
}

// A DevTools connection: send(method, params, session) and events.
function connect(url) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const pending = new Map(), handlers = [];
        let id = 0;
        ws.onerror = () => reject(new Error('DevTools connection failed'));
        ws.onmessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.id && pending.has(m.id)) {
                const { ok, fail } = pending.get(m.id);
                pending.delete(m.id);
                if (m.error) fail(new Error(m.error.message));
                else ok(m.result);
            } else if (m.method) {
                for (const h of handlers) h(m);
            }
        };
        ws.onopen = () => resolve({
            send(method, params = {}, sessionId) {
                const msg = { id: ++id, method, params };
                if (sessionId) msg.sessionId = sessionId;
                ws.send(JSON.stringify(msg));
                return new Promise((ok, fail) => pending.set(id, { ok, fail }));
            },
            on(h) { handlers.push(h); },
            close() { ws.close(); },
        });
    });
}

async function visit(cdp, o, w) {
    // a context of its own: no credentials remembered from another width
    const { browserContextId } = await cdp.send(
        'Target.createBrowserContext', {});
    const { targetId } = await cdp.send('Target.createTarget',
        { url: 'about:blank', browserContextId });
    const { sessionId: s } = await cdp.send('Target.attachToTarget',
        { targetId, flatten: true });
    const seen = { challenges: [], status: null };
    let loaded;
    const load = new Promise((r) => { loaded = r; });
    cdp.on((m) => {
        if (m.sessionId !== s) return;
        const p = m.params;
        if (m.method === 'Fetch.requestPaused')
            cdp.send('Fetch.continueRequest', { requestId: p.requestId }, s);
        else if (m.method === 'Fetch.authRequired') {
            seen.challenges.push(p.authChallenge);
            cdp.send('Fetch.continueWithAuth', {
                requestId: p.requestId,
                authChallengeResponse: seen.challenges.length > 2
                    ? { response: 'CancelAuth' }
                    : { response: 'ProvideCredentials', username: o.user || '',
                        password: o.password || '' },
            }, s);
        } else if (m.method === 'Network.responseReceived' &&
                   p.type === 'Document')
            seen.status = p.response.status;
        else if (m.method === 'Page.loadEventFired')
            loaded();
    });
    await cdp.send('Fetch.enable', { handleAuthRequests: true,
        patterns: [{ urlPattern: '*' }] }, s);
    await cdp.send('Network.enable', {}, s);
    await cdp.send('Page.enable', {}, s);
    await cdp.send('Emulation.setDeviceMetricsOverride', {
        width: w.width, height: w.height, deviceScaleFactor: 1,
        mobile: w.width < 600 }, s);
    await cdp.send('Page.navigate', { url: o.url }, s);
    await load;
    const r = await cdp.send('Runtime.evaluate', {
        expression: o.probe, returnByValue: true }, s);
    if (r.exceptionDetails)
        throw new Error('probe: ' + r.exceptionDetails.text);
    const lm = await cdp.send('Page.getLayoutMetrics', {}, s);
    const size = lm.cssContentSize || lm.contentSize;
    const shot = await cdp.send('Page.captureScreenshot', {
        format: 'png', captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: size.width, height: size.height,
                scale: 1 } }, s);
    const file = path.join(o.out, `${w.name}.png`);
    fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
    await cdp.send('Target.closeTarget', { targetId });
    await cdp.send('Target.disposeBrowserContext', { browserContextId });
    return { name: w.name, width: w.width, status: seen.status,
             challenges: seen.challenges, screenshot: file, dom: r.result.value };
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    fs.mkdirSync(o.out, { recursive: true });
    const profile = fs.mkdtempSync(path.join(o.out, 'profile-'));
    const child = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [
        '--headless=new', '--no-sandbox', '--disable-gpu',
        '--disable-dev-shm-usage', '--no-first-run',
        '--no-default-browser-check', '--remote-debugging-port=0',
        '--remote-debugging-address=127.0.0.1',
        `--user-data-dir=${profile}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
        child.kill('SIGKILL');
        console.error('browse: timed out\n' + stderr.slice(-2000));
        process.exit(3);
    }, o.timeout * 1000);
    try {
        const cdp = await connect(await devtoolsUrl(profile, child));
        const pages = [];
        for (const w of o.widths) pages.push(await visit(cdp, o, w));
        process.stdout.write(JSON.stringify(pages) + '\n');
        await cdp.send('Browser.close').catch(() => {});
        cdp.close();
    } catch (e) {
        console.error('browse: ' + e.message + '\n' + stderr.slice(-2000));
        process.exitCode = 1;
    } finally {
        clearTimeout(timer);
        for (let i = 0; i < 50 && child.exitCode === null; i++) await sleep(100);
        if (child.exitCode === null) child.kill('SIGKILL');
        fs.rmSync(profile, { recursive: true, force: true });
    }
}

main();
