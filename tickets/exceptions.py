"""Why a domain operation was refused; every entry point maps these to its own answer (HTTP, admin)."""


class WorkflowError(Exception):
    http_status = 400

    def __init__(self, message, *, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class TransitionNotAllowed(WorkflowError):
    """The ticket's current state does not allow the transition."""

    http_status = 409


class TransitionForbidden(WorkflowError):
    """The actor may not fire the transition (four eyes included)."""

    http_status = 403


class InvalidParameter(WorkflowError):
    """A transition's parameter is missing or wrong."""

    http_status = 400
