"""EvaluationRun becomes an itembank.jobs.Job (it had most fields already); existing runs count
as sent."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def mark_sent(apps, schema_editor):
    apps.get_model("evaluation", "EvaluationRun").objects.update(sent_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name='evaluationrun',
            name='message',
            field=models.CharField(blank=True, max_length=200, verbose_name='current step'),
        ),
        migrations.AddField(
            model_name='evaluationrun',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sent to the task queue'),
        ),
        migrations.AlterField(
            model_name='evaluationrun',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='started by'),
        ),
        migrations.AlterField(
            model_name='evaluationrun',
            name='done',
            field=models.PositiveIntegerField(default=0, verbose_name='done'),
        ),
        migrations.AlterField(
            model_name='evaluationrun',
            name='total',
            field=models.PositiveIntegerField(default=0, verbose_name='total'),
        ),
        migrations.RunPython(mark_sent, migrations.RunPython.noop),
    ]
