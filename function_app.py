"""Composition root: the function app and its blueprints. No logic, no settings read here."""

import azure.functions as func

from functions.availability import bp as availability_bp
from functions.calendars import bp as calendars_bp
from functions.changes import bp as changes_bp
from functions.events import bp as events_bp
from functions.holds import bp as holds_bp
from functions.link_completions import bp as link_completions_bp
from functions.notifications import bp as notifications_bp
from functions.oauth_callback import bp as oauth_callback_bp
from functions.operations import bp as operations_bp
from functions.rooms import bp as rooms_bp
from functions.slots import bp as slots_bp
from functions.tenant_links import bp as tenant_links_bp
from functions.user_links import bp as user_links_bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in (
    tenant_links_bp,
    oauth_callback_bp,
    user_links_bp,
    calendars_bp,
    rooms_bp,
    events_bp,
    availability_bp,
    link_completions_bp,
    notifications_bp,
    changes_bp,
    holds_bp,
    slots_bp,
    operations_bp,
):
    app.register_functions(blueprint)
