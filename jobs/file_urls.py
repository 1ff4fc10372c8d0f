"""The Files tab's addresses, inside the jobs namespace (jobs/urls.py includes them)."""

from django.urls import path

from jobs import file_views as views

urlpatterns = [
    path("<int:job_id>/files/", views.files_page, name="files"),
    path("<int:job_id>/files/upload/", views.upload, name="file_upload"),
    path("<int:job_id>/files/<int:file_id>/download", views.download, name="file_download"),
    path("<int:job_id>/files/<int:file_id>/move/", views.move_file, name="file_move"),
    path("<int:job_id>/files/<int:file_id>/delete/", views.delete_file, name="file_delete"),
    path("<int:job_id>/folders/new/", views.create_folder, name="folder_create"),
    path("<int:job_id>/folders/<int:folder_id>/rename/", views.rename_folder, name="folder_rename"),
    path("<int:job_id>/folders/<int:folder_id>/move/", views.move_folder, name="folder_move"),
    path("<int:job_id>/folders/<int:folder_id>/delete/", views.delete_folder, name="folder_delete"),
]
