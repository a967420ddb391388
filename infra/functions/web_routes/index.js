// CloudFront Function (viewer request, cloudfront-js-2.0) of the static distribution: the
// web app's pages and their client-side routes. A path ending in "/" is that folder's
// index.html; a path without a file extension is a route of one of the pages, served that
// page's index.html (/console/... and /docs/... their own, everything else the app's).
// Files (a dot in the last segment) are served as they are, a missing one a real 404.
var PAGES = ["console", "docs"];

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith("/")) {
    request.uri = uri + "index.html";
    return request;
  }
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  if (last.indexOf(".") !== -1) {
    return request;
  }
  for (var i = 0; i < PAGES.length; i++) {
    var page = "/" + PAGES[i];
    if (uri === page || uri.indexOf(page + "/") === 0) {
      request.uri = page + "/index.html";
      return request;
    }
  }
  request.uri = "/index.html";
  return request;
}
