// primaCodeSamples is a Swagger UI plugin: above each operation's responses it shows the
// operation's x-codeSamples (the Redocly convention: [{lang, label, source}], written
// into the published documents by openapi.Documents) as tabs, one per language, with a
// button that copies the sample. Hand-written, not from swagger-ui-dist; it uses only
// Swagger UI's plugin API (wrapComponents) and the React it ships.
function primaCodeSamples(system) {
  var React = system.React;
  var h = React.createElement;

  function CodeSamples(props) {
    var samples = props.samples;
    var state = React.useState(0);
    var active = state[0];
    var setActive = state[1];
    var copied = React.useState(false);
    var current = samples[active] || samples[0];
    function copy() {
      if (!navigator.clipboard) return;
      navigator.clipboard.writeText(current.source).then(function () {
        copied[1](true);
        setTimeout(function () { copied[1](false); }, 1500);
      }, function () {});
    }
    return h("div", { className: "prima-code-samples" },
      h("div", { className: "opblock-section-header" },
        h("h4", { className: "opblock-title" }, "Code samples")),
      h("div", { className: "prima-code-body" },
        h("div", { className: "prima-code-tabs", role: "tablist", "aria-label": "Code samples" },
          samples.map(function (s, i) {
            return h("button", {
              key: s.lang + ":" + i,
              type: "button",
              role: "tab",
              "aria-selected": i === active ? "true" : "false",
              className: "prima-code-tab" + (i === active ? " active" : ""),
              onClick: function () { setActive(i); },
            }, s.label || s.lang);
          }),
          h("button", { type: "button", className: "prima-code-copy", onClick: copy }, copied[0] ? "Copied" : "Copy")),
        h("pre", { className: "prima-code-source", role: "tabpanel", "data-lang": current.lang },
          h("code", null, current.source))));
  }

  return {
    wrapComponents: {
      responses: function (Original, sys) {
        return function (props) {
          var list = sys.specSelectors.specJson().getIn(["paths", props.path, props.method, "x-codeSamples"]);
          if (!list || !list.size) return h(Original, props);
          return h("div", null, h(CodeSamples, { samples: list.toJS() }), h(Original, props));
        };
      },
    },
  };
}
