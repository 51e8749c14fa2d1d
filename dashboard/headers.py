"""Security headers on every response: a Content Security Policy that Dash and plotly run under, no framing by
other sites, no MIME sniffing, no Referer to other sites, HTTPS-only cookies when the deployment is on HTTPS."""

from __future__ import annotations

from dash import Dash
from flask import Response
from werkzeug.serving import WSGIRequestHandler

from settings import Settings

# Why not flask-talisman: its policy is fixed when it is set up, while the hashes of Dash's inline scripts
# (the renderer and every clientside callback) are known only once every page has registered its callbacks, and
# its HTTPS redirect does not fit walls on a LAN. The headers themselves are constants.
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # a wall's URL (view, county) does not leave the site
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(script_hashes: list[str], frame_ancestors: str, debug: bool = False) -> str:
    """The page's CSP: scripts only from this app or inline ones Dash declared; styles inline too (plotly and Dash
    components set them); nothing fetched from anywhere else (the app runs air-gapped)."""
    # Dash's dev tools evaluate code: only in --debug, never on a wall.
    scripts = ["'self'", *script_hashes, *(["'unsafe-eval'"] if debug else [])]
    return "; ".join([
        "default-src 'self'",
        f"script-src {' '.join(scripts)}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def register(app: Dash, settings: Settings) -> None:
    """Set the headers on every response of the app's server, and the session cookie's flags."""
    server = app.server
    if settings.https:
        server.config["SESSION_COOKIE_SECURE"] = True
    frames = "DENY" if settings.frame_ancestors.strip() == "'none'" else "SAMEORIGIN"
    policy: list[str] = []  # built at the first response, when every page has registered its inline scripts

    @server.after_request
    def secure(response: Response) -> Response:
        """The headers above, the CSP on every response (an error page is a page too)."""
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.frame_ancestors.strip() in ("'self'", "'none'"):  # browsers that predate frame-ancestors
            response.headers.setdefault("X-Frame-Options", frames)
        if settings.https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Once, not at every wall tick: create_app registers every callback (and so every inline script) before
        # the server answers anything.
        if not policy:
            policy.append(content_security_policy(list(app.csp_hashes()), settings.frame_ancestors, settings.debug))
        response.headers["Content-Security-Policy"] = policy[0]
        return response


class QuietRequestHandler(WSGIRequestHandler):
    """The development server without its name and version in every response's Server header."""

    def version_string(self) -> str:
        """What the Server header says."""
        return "zq"
