"""The applicant API (reports) and the staff ticket API."""

urlpatterns = []
