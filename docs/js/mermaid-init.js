// Mermaid draws every ```mermaid block of the site (pymdownx.superfences writes them as
// <div class="mermaid">) once the page has loaded; strict: labels are text, never HTML, as on GitHub.
mermaid.initialize({ startOnLoad: true, securityLevel: "strict" });
