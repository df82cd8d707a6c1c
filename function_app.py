"""Composition root: the function app and its blueprints. No logic, no settings read here."""
import azure.functions as func

from functions.oauth_callback import bp as oauth_callback_bp
from functions.tenant_links import bp as tenant_links_bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(tenant_links_bp)
app.register_functions(oauth_callback_bp)
