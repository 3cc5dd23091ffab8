"""The remedies API: bulk approval and the finance export."""

from django.urls import path

from refunds import api

urlpatterns = [
    path("remedies/approve/", api.BulkApprovalView.as_view(), name="remedies-approve"),
    path("remedies/export/", api.ExportView.as_view(), name="remedies-export"),
]
