"""ImportJob becomes an itembank.jobs.Job: the common job fields, under their common names.

processed -> done, user -> created_by (data kept); in_request goes (no job runs in a web request
any more) and so does seconds (started_at..finished_at gives it). Jobs that exist were already
handed to the broker, so their sent_at is their creation time."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def mark_sent(apps, schema_editor):
    apps.get_model("itembank", "ImportJob").objects.update(sent_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("itembank", "0002_importjob"),
    ]

    operations = [
        migrations.RenameField("importjob", "processed", "done"),
        migrations.RenameField("importjob", "user", "created_by"),
        migrations.RemoveField("importjob", "in_request"),
        migrations.RemoveField("importjob", "seconds"),
        migrations.AddField(
            model_name='importjob',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last progress'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='message',
            field=models.CharField(blank=True, max_length=200, verbose_name='current step'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sent to the task queue'),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='requested'),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='started by'),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='done',
            field=models.PositiveIntegerField(default=0, verbose_name='done'),
        ),
        migrations.RunPython(mark_sent, migrations.RunPython.noop),
    ]
