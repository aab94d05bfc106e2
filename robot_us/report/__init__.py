"""The examination report of a recorded scan: pictures (``figures``), the page (``html``)."""
