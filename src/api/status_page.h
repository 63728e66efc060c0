// StatusPage: the single self-contained HTML page the REST API serves at /ui (no external
// assets: styles, script and drawings are inline). In the browser it polls /status (what
// `baton status --json` prints) and /history (role changes and kept drills) every second and
// draws the members with their roles and lag bars, the timeline, the role-change history, the
// trend of the kept drills and the slowest round of the last one (an SVG like `baton drill
// --plot`). Every text it shows from the cluster is set as text, never parsed as HTML. Once it
// has drawn the cluster the body carries data-ready="true" and data-first-render-ms (ms from
// navigation start), for tests and for the page's own speed figure.
#pragma once

#include <string_view>

namespace baton {

std::string_view StatusPageHtml();

}  // namespace baton
