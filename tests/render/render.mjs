// The browser half of kverify's render check (tests/test_render.py drives it).
//
// One headless Chromium launch does the whole job read from the JSON file named by argv[2]:
//   {"diagrams": [{"id": "...", "text": "..."}],            Mermaid source to render, one by one
//    "pages": [{"url": "http://127.0.0.1:.../", "png": "/...png"}]}   pages to open, let Mermaid run, screenshot
// and prints one JSON object on stdout:
//   {"mermaid": "11.x", "diagrams": [{"id", "svg", "error"}],
//    "pages": [{"url", "png", "blocks", "svgs", "errors", "images", "blocked", "console"}]}
//
// Mermaid is the pinned npm package beside this file (package.json, package-lock.json), loaded from
// disk: a page that asks for mermaid.min.js from a CDN gets this copy, and every other request off
// this machine (file:, data: and http://127.0.0.1 are on it) is refused and listed under "blocked". Chromium is Debian's (/usr/bin/chromium, or
// $KVERIFY_CHROMIUM); puppeteer-core never downloads a browser.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const mermaidPath = join(here, "node_modules", "mermaid", "dist", "mermaid.min.js");
const mermaidSource = readFileSync(mermaidPath, "utf8");
const mermaidVersion = JSON.parse(readFileSync(join(here, "node_modules", "mermaid", "package.json"), "utf8")).version;
const job = JSON.parse(readFileSync(process.argv[2], "utf8"));

const browser = await puppeteer.launch({
  executablePath: process.env.KVERIFY_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // The closed network here refuses a browser that phones home; these keep Chromium quiet.
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  // puppeteer-core gives each launch a fresh temporary --user-data-dir and removes it on close.
});

async function renderDiagrams(diagrams) {
  const page = await browser.newPage();
  await page.setContent("<!doctype html><html><body></body></html>");
  await page.addScriptTag({ content: mermaidSource });
  const results = await page.evaluate(async (diagrams) => {
    // securityLevel strict, as GitHub renders Mermaid: labels are text, never HTML.
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    const out = [];
    for (const [i, d] of diagrams.entries()) {
      try {
        const { svg } = await window.mermaid.render(`kverify-diagram-${i}`, d.text);
        out.push({ id: d.id, svg, error: null });
      } catch (e) {
        out.push({ id: d.id, svg: null, error: String(e && e.message ? e.message : e) });
      }
    }
    return out;
  }, diagrams);
  await page.close();
  return results;
}

async function screenshot(spec) {
  const page = await browser.newPage();
  const blocked = [];
  const messages = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (/\/mermaid(@[^/]+)?\/dist\/mermaid\.min\.js$/.test(url)) {
      request.respond({ status: 200, contentType: "text/javascript", body: mermaidSource });
    } else if (/^(file:|data:|http:\/\/127\.0\.0\.1[:/])/.test(url)) {
      request.continue();
    } else {
      blocked.push(url);
      request.abort();
    }
  });
  await page.setViewport({ width: spec.width || 1100, height: 800 });
  await page.goto(spec.url, { waitUntil: "load" });
  // Mermaid replaces each block's text by an <svg> (or by its error box) once it has run.
  await page
    .waitForFunction(
      () => [...document.querySelectorAll(".mermaid")].every((e) => e.querySelector("svg")),
      { timeout: 20000 },
    )
    .catch(() => messages.push("timeout: not every .mermaid block became an svg"));
  const found = await page.evaluate(() => {
    const blocks = [...document.querySelectorAll(".mermaid")];
    const svgs = blocks.filter((e) => e.querySelector("svg")).map((e) => e.querySelector("svg").outerHTML);
    // Mermaid's error box: an svg with the error role, saying "Syntax error in text".
    const errors = blocks
      .filter((e) => e.querySelector('svg[aria-roledescription="error"]') || /Syntax error in text/.test(e.textContent))
      .map((e) => e.textContent.slice(0, 200));
    const images = [...document.querySelectorAll("img")].map((i) => ({
      src: i.getAttribute("src"),
      loaded: i.complete && i.naturalWidth > 0,
    }));
    return { blocks: blocks.length, svgs, errors, images };
  });
  await page.screenshot({ path: spec.png, fullPage: true });
  await page.close();
  return { url: spec.url, png: spec.png, blocked, console: messages, ...found };
}

try {
  const diagrams = await renderDiagrams(job.diagrams || []);
  const pages = [];
  for (const spec of job.pages || []) pages.push(await screenshot(spec));
  process.stdout.write(JSON.stringify({ mermaid: mermaidVersion, diagrams, pages }));
} finally {
  await browser.close();
}
