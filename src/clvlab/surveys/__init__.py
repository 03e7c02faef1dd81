"""Surveys and collection: definitions, signed personal links, responses, and their way into the workspace.

- :mod:`~clvlab.surveys.definition`: questions (NPS, CSAT, CES, ACSI, free text, single and
  multiple choice, ratings) in zh and en, validated answers, the ACSI index;
- :mod:`~clvlab.surveys.tokens`: one HMAC-SHA256-signed, expiring token per invitation;
- :mod:`~clvlab.surveys.invites`: invitations in bulk from a segment or stage, or after a first
  purchase, with the contact-frequency rule, and their CSV for an SMS/WeChat gateway;
- :mod:`~clvlab.surveys.responses`: a submission (one row per link, updated on resubmit), the alert
  rules run at once, signed webhooks through the outbox;
- :mod:`~clvlab.surveys.feedback`: responses as rows of the workspace's ``feedback`` table.
"""
