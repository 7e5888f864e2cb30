"""Local, offline speech engines (``pip install 'antiphon[speech]'``).

- :class:`WebRtcVad`: WebRTC's voice activity detector (``webrtcvad-wheels``).
- :class:`PocketSphinxTranscriber`: CMU PocketSphinx 5 with its bundled US English model.
- :class:`EspeakSynthesizer`: eSpeak NG through ``ctypes`` (``espeakng-loader``).

Importing this package without those packages raises
:class:`~antiphon.exceptions.SpeechUnavailable`, which names the extra to install.
"""

from antiphon.speech.local.espeak import EspeakSynthesizer
from antiphon.speech.local.pocketsphinx import PocketSphinxTranscriber
from antiphon.speech.local.webrtc import WebRtcVad

__all__ = ["EspeakSynthesizer", "PocketSphinxTranscriber", "WebRtcVad"]
