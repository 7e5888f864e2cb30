"""The offline demo: a scripted gpt-oss turn served by antiphon, watched live."""
