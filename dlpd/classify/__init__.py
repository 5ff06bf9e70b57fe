"""Classification: type a file, extract its text, match signatures, confirm with validators."""
