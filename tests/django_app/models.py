"""Models of the Django tests: a FileField on the default storage, an ImageField with its dimensions."""

from __future__ import annotations

from django.db import models


class Document(models.Model):
    upload = models.FileField(upload_to="docs")
    limited = models.FileField(upload_to="docs", max_length=20, blank=True)

    class Meta:
        app_label = "django_app"


class Photo(models.Model):
    image = models.ImageField(upload_to="photos", width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)

    class Meta:
        app_label = "django_app"
