// Typeset the page's TeX with the copy of KaTeX shipped in this site (assets/katex/): no network.
// Delimiters: $$...$$ and \[...\] (display), $...$ and \(...\) (inline): notebook markdown cells
// keep $ and $$; docstrings on the API pages arrive as \(...\) / \[...\] (pymdownx.arithmatex).
// A formula KaTeX cannot typeset stays as written and is reported as a console error (the docs test fails on it).
// When done, <html data-math="done"> tells the docs test that typesetting has finished.
(function () {
  function typeset() {
    var root = document.documentElement;
    try {
      renderMathInElement(document.body, {
        delimiters: [
          {left: '$$', right: '$$', display: true},
          {left: '\\[', right: '\\]', display: true},
          {left: '$', right: '$', display: false},
          {left: '\\(', right: '\\)', display: false}
        ],
        ignoredTags: ['script', 'noscript', 'style', 'textarea', 'pre', 'code', 'option'],
        ignoredClasses: ['dataframe', 'clipboard-copy-txt'],
        throwOnError: true,  // an unknown command is an error (not red text), reported below
        strict: 'ignore',
        errorCallback: function (msg, err) { console.error('KaTeX could not typeset: ' + msg + ' ' + (err && err.message)); }
      });
      root.setAttribute('data-math', 'done');
    } catch (e) {
      root.setAttribute('data-math', 'failed');
      throw e;
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', typeset);
  else typeset();
})();
