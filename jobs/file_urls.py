"""The Files tab's addresses, inside the jobs namespace (jobs/urls.py includes them)."""

from django.urls import path

from jobs import file_views as views

urlpatterns = [
    path("<int:job_pk>/files/", views.files_page, name="files"),
    path("<int:job_pk>/files/upload/", views.upload, name="file_upload"),
    path("<int:job_pk>/files/<int:file_pk>/download", views.download, name="file_download"),
    path("<int:job_pk>/files/<int:file_pk>/move/", views.move_file, name="file_move"),
    path("<int:job_pk>/files/<int:file_pk>/delete/", views.delete_file, name="file_delete"),
    path("<int:job_pk>/folders/new/", views.create_folder, name="folder_create"),
    path("<int:job_pk>/folders/<int:folder_pk>/rename/", views.rename_folder, name="folder_rename"),
    path("<int:job_pk>/folders/<int:folder_pk>/move/", views.move_folder, name="folder_move"),
    path("<int:job_pk>/folders/<int:folder_pk>/delete/", views.delete_folder, name="folder_delete"),
]
