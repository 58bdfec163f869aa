// Dojo build profile (dojo-util's builder) for the editor's one layer: every
// module the editor requires, with their templates,
// in one file, and the claro theme with its @imports flattened into one
// stylesheet. build_layers.mjs runs it and keeps only those two outputs;
// the unbuilt packages are still zipped whole for pages that need more.
// eslint-disable-next-line no-unused-vars
var profile = {
  basePath: "../../node_modules",
  action: "release",
  // Per-module minification is wasted work: only the layer is served.
  optimize: "",
  layerOptimize: "closure",
  cssOptimize: "comments",
  mini: true,
  copyTests: false,
  // The root and en-us nls bundles go into the layer itself (includeLocales
  // below), so loading it fetches no flattened bundle (a request that a
  // page leaving at once, as the editor does without a name, would abort);
  // other locales' strings still load from the unbuilt dijit.
  localeList: "en-us",
  stripConsole: "none",
  selectorEngine: "lite",
  packages: [
    { name: "dojo", location: "dojo" },
    { name: "dijit", location: "dijit" },
    // The layer's own package, so that its flattened nls bundle has a home
    // of ours (/static/mobwrite/layer/, set in the pages' dojoConfig). Its
    // folder holds no modules: the builder makes the layer module itself.
    { name: "mobwrite-layer", location: "../static_src/dojo" },
  ],
  layers: {
    "mobwrite-layer/pages": {
      // Keep this list editor.html's require([...]) list.
      include: [
        "dojo/parser",
        "dojo/on",
        "dojo/dom",
        "dojo/domReady",
        "dijit/registry",
        "dijit/layout/BorderContainer",
        "dijit/layout/ContentPane",
        "dijit/form/Button",
        "dijit/form/TextBox",
        "dijit/Dialog",
      ],
      // Not a loader: the page loads the unbuilt dojo/dojo.js first, then
      // this file, whose modules the loader takes from its cache.
      boot: false,
      includeLocales: ["en-us"],
      // Without this the builder leaves out everything dojo/main pulls in
      // (dojo/_base/...), expecting a built dojo.js to carry it.
      customBase: true,
    },
  },
};
