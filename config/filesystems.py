"""flystore's filesystem configuration (Laravel's config/filesystems.php, in Python).

flystore loads this file when ``Storage`` is first used and ``Storage.configure``
was never called: the file named by ``FLYSTORE_CONFIG`` wins, then this one
(``config/filesystems.py`` under the current directory), then a built-in
default with the two local disks below.

Values wrapped in ``env()`` are read from the environment when the disk is
first used, not when this file is imported, so secrets never sit in the file.
Only the disks you use are built: the S3, GCS and Azure entries below cost
nothing (and need no extra installed) until something calls
``Storage.disk("s3")``.
"""

from flystore import env

FILESYSTEMS = {
    # ------------------------------------------------------------------
    # The disk `Storage.put(...)` and friends use when no disk is named.
    # ------------------------------------------------------------------
    "default": env("FILESYSTEM_DISK", "local"),
    "disks": {
        # --------------------------------------------------------------
        # Local disks: a directory treated as a jail. Writes are atomic,
        # visibility is the file mode (public 0644 / private 0600).
        # --------------------------------------------------------------
        "local": {
            "driver": "local",
            "root": "storage/app",
            "visibility": "private",
        },
        "public": {
            "driver": "local",
            "root": "storage/app/public",
            "url": "/storage",
            "visibility": "public",
        },
        # --------------------------------------------------------------
        # In-memory disk: per-disk, isolated, gone when the process ends.
        # --------------------------------------------------------------
        "tmp": {"driver": "memory"},
        # --------------------------------------------------------------
        # Amazon S3 and S3-compatible services (MinIO, DigitalOcean
        # Spaces, Cloudflare R2) through `endpoint`. Needs flystore[s3].
        # --------------------------------------------------------------
        "s3": {
            "driver": "s3",
            "bucket": env("AWS_BUCKET", "my-bucket"),
            "region": env("AWS_DEFAULT_REGION", "us-east-1"),
            "key": env("AWS_ACCESS_KEY_ID"),
            "secret": env("AWS_SECRET_ACCESS_KEY"),
            "endpoint": env("AWS_ENDPOINT"),
            "url": env("AWS_URL"),
            "visibility": "private",
        },
        # --------------------------------------------------------------
        # Google Cloud Storage. Needs flystore[gcs].
        # --------------------------------------------------------------
        "gcs": {
            "driver": "gcs",
            "bucket": env("GOOGLE_CLOUD_STORAGE_BUCKET", "my-bucket"),
            "project_id": env("GOOGLE_CLOUD_PROJECT_ID"),
            "key_file": env("GOOGLE_CLOUD_KEY_FILE"),
        },
        # --------------------------------------------------------------
        # Azure Blob Storage. Needs flystore[azure].
        # --------------------------------------------------------------
        "azure": {
            "driver": "azure",
            "connection_string": env("AZURE_STORAGE_CONNECTION_STRING"),
            "container": env("AZURE_STORAGE_CONTAINER", "files"),
        },
        # --------------------------------------------------------------
        # Decorator disks stack on other disks by name.
        # --------------------------------------------------------------
        "uploads": {"driver": "scoped", "disk": "local", "prefix": "uploads"},
        "archive": {"driver": "read_only", "disk": "local"},
    },
}
