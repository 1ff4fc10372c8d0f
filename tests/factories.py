"""factory-boy factories, one per model."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user who can sign in: password DEFAULT_PASSWORD and a verified primary address."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddressFactory(user=self, email=self.email)


class StaffFactory(UserFactory):
    """A staff member: a superuser unless told otherwise; `permissions` ("app.codename", …)
    gives a non-superuser exactly those."""

    is_staff = True
    is_superuser = True

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        if not (create and extracted):
            return
        for name in extracted:
            app_label, codename = name.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class EmailAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailAddress

    user = factory.SubFactory(UserFactory, verified_email=False)
    email = factory.SelfAttribute("user.email")
    verified = True
    primary = True
