"""DuplicateScan becomes an itembank.jobs.Job: requested_by -> created_by (data kept), in_request
goes (no scan runs in a web request any more); existing scans count as sent."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def mark_sent(apps, schema_editor):
    apps.get_model("duplicates", "DuplicateScan").objects.update(sent_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("duplicates", "0002_duplicatescan_heartbeat_at"),
    ]

    operations = [
        migrations.RenameField("duplicatescan", "requested_by", "created_by"),
        migrations.RemoveField("duplicatescan", "in_request"),
        migrations.AddField(
            model_name='duplicatescan',
            name='message',
            field=models.CharField(blank=True, max_length=200, verbose_name='current step'),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sent to the task queue'),
        ),
        migrations.AlterField(
            model_name='duplicatescan',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='started by'),
        ),
        migrations.RunPython(mark_sent, migrations.RunPython.noop),
    ]
