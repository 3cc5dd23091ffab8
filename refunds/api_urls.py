"""The remedies API: bulk approval and the finance export."""

urlpatterns = []
