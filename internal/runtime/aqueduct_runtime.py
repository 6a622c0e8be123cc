# Work in progress: replaced by the full runtime (issue 5).
