"""The offline demo: scripted gpt-oss turns served by antiphon, watched live over both APIs."""
