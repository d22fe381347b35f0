"""Export to S3: jobs, their objects on S3, CSV splitting and compression."""
