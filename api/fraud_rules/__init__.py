"""The marketplace's fraud rules, settings and value lists (/v1/fraud/*), kept by fraud."""
