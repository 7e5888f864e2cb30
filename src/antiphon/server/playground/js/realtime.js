// The Realtime view: a session on /v1/realtime opened with an ephemeral key (the API key never
// reaches the WebSocket), text turns, and, when the server has a speech pipeline, push-to-talk
// from the microphone (PCM16 at 24 kHz) with the spoken answer played back.

import { postJson } from "./api.js";
import { Card } from "./cards.js";
import { EventLog } from "./log.js";

const $ = (id) => document.getElementById(id);
const RATE = 24000;

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// A stream resampler from rate `from` to `to`: each output sample is the mean of the input
// samples its span covers (a box filter: enough against aliasing for speech), or, upsampling,
// a linear interpolation. Fractional positions carry over from one chunk to the next.
function resampler(from, to) {
  if (from === to) return (input) => input;
  const step = from / to;
  let carry = new Float32Array(0);
  let position = 0;
  return (input) => {
    const samples = new Float32Array(carry.length + input.length);
    samples.set(carry);
    samples.set(input, carry.length);
    const out = [];
    while (position + Math.max(step, 1) <= samples.length) {
      const start = Math.floor(position);
      if (step > 1) {
        const end = Math.min(samples.length, Math.floor(position + step));
        let sum = 0;
        for (let i = start; i < end; i += 1) sum += samples[i];
        out.push(sum / Math.max(1, end - start));
      } else {
        const next = Math.min(samples.length - 1, start + 1);
        const fraction = position - start;
        out.push(samples[start] * (1 - fraction) + samples[next] * fraction);
      }
      position += step;
    }
    const consumed = Math.floor(position);
    carry = samples.slice(consumed);
    position -= consumed;
    return Float32Array.from(out);
  };
}

export class RealtimeView {
  constructor() {
    this.log = new EventLog($("rt-log"), $("rt-event-count"));
    this.socket = null;
    this.cards = new Map();
    this.playback = null;
    this.playAt = 0;
    this.capture = null;
    this.sentMs = 0;
    this.awaitingTranscript = false;
    this.playedMs = 0;
    $("rt-connect").addEventListener("click", () => this.connect());
    $("rt-disconnect").addEventListener("click", () => this.socket?.close());
    $("rt-turn").addEventListener("submit", (event) => { event.preventDefault(); this.sendText(); });
    const talk = $("rt-talk");
    talk.addEventListener("pointerdown", () => this.startTalking());
    for (const type of ["pointerup", "pointerleave"]) talk.addEventListener(type, () => this.stopTalking());
  }

  showSpeech(capabilities) {
    const voice = $("rt-voice");
    voice.disabled = !capabilities.speech;
    $("rt-talk").hidden = !capabilities.speech;
  }

  setStatus(text) {
    $("rt-status").textContent = text;
    $("rt-status").className = `status ${text}`;
  }

  setConnected(connected) {
    $("rt-connect").disabled = connected;
    $("rt-disconnect").disabled = !connected;
    $("rt-text").disabled = !connected;
    $("rt-send").disabled = !connected;
    $("rt-talk").disabled = !connected || !$("rt-voice").checked;
  }

  async connect() {
    $("rt-error").textContent = "";
    const model = $("rt-model").value;
    const voice = $("rt-voice").checked;
    const session = { type: "realtime", model, output_modalities: voice ? ["audio"] : ["text"] };
    const instructions = $("rt-instructions").value.trim();
    if (instructions) session.instructions = instructions;
    if (voice) {
      session.audio = {
        input: { format: { type: "audio/pcm", rate: RATE }, turn_detection: null },
        output: { format: { type: "audio/pcm", rate: RATE } },
      };
    }
    let secret;
    try {
      const response = await postJson("/v1/realtime/client_secrets", { session });
      secret = (await response.json()).value;
    } catch (error) {
      $("rt-error").textContent = error.message;
      return;
    }
    this.log.clear();
    this.cards.clear();
    $("rt-transcript").replaceChildren();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/v1/realtime?model=${encodeURIComponent(model)}`;
    const socket = new WebSocket(url, ["realtime", `openai-insecure-api-key.${secret}`]);
    this.socket = socket;
    this.setStatus("connecting");
    socket.addEventListener("open", () => { this.setStatus("connected"); this.setConnected(true); });
    socket.addEventListener("close", (event) => {
      this.setStatus(`closed ${event.code}${event.reason ? ` ${event.reason}` : ""}`);
      this.setConnected(false);
      this.socket = null;
    });
    socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
  }

  send(event) {
    if (event.type !== "input_audio_buffer.append") this.log.add(event.type, event, "→ ");
    this.socket?.send(JSON.stringify(event));
  }

  sendText() {
    const text = $("rt-text").value.trim();
    if (!text) return;
    $("rt-text").value = "";
    this.send({ type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text }] } });
    this.send({ type: "response.create" });
  }

  card(item) {
    let card = this.cards.get(item.id);
    if (!card) {
      card = new Card(item);
      if (item.role === "user") card.node.classList.add("user");
      card.node.dataset.itemId = item.id;
      this.cards.set(item.id, card);
      $("rt-transcript").append(card.node);
    }
    return card;
  }

  receive(event) {
    if (event.type !== "response.output_audio.delta") this.log.add(event.type, event, "← ");
    switch (event.type) {
      case "conversation.item.added":
      case "conversation.item.done":
      case "response.output_item.added":
      case "response.output_item.done":
        this.card(event.item).render(event.item);
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.cards.get(event.item_id)?.append("text", event.transcript);
        this.answerSpoken();
        break;
      case "conversation.item.input_audio_transcription.failed":
        this.answerSpoken();
        break;
      case "response.output_text.delta":
      case "response.output_audio_transcript.delta":
        this.cards.get(event.item_id)?.append("text", event.delta);
        break;
      case "response.output_audio.delta":
        this.play(event.delta);
        break;
      case "response.done":
        this.setStatus(`connected · ${event.response.status}`);
        break;
      case "error":
        $("rt-error").textContent = `${event.error.code || event.error.type}: ${event.error.message}`;
        break;
      default:
        break;
    }
  }

  play(base64) {
    this.playback ??= new AudioContext({ sampleRate: RATE });
    const bytes = fromBase64(base64);
    const samples = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
    const buffer = this.playback.createBuffer(1, samples.length, RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i += 1) channel[i] = samples[i] / 32768;
    const source = this.playback.createBufferSource();
    source.buffer = buffer;
    source.connect(this.playback.destination);
    this.playAt = Math.max(this.playAt, this.playback.currentTime);
    source.start(this.playAt);
    this.playAt += buffer.duration;
    this.playedMs += buffer.duration * 1000;
    this.showAudio();
  }

  showAudio() {
    const audio = $("rt-audio");
    audio.dataset.sentMs = String(Math.round(this.sentMs));
    audio.dataset.playedMs = String(Math.round(this.playedMs));
    audio.textContent = `audio: ${(this.sentMs / 1000).toFixed(1)} s sent, ${(this.playedMs / 1000).toFixed(1)} s of answer played`;
  }

  async startTalking() {
    if (!this.socket || this.capture) return;
    $("rt-talk").classList.add("active");
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        // Raw audio: the server has its own voice activity detection and recogniser.
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      // The device's own rate (Firefox cannot connect a microphone to a context at another
      // rate), brought to 24 kHz here.
      const context = new AudioContext();
      const resample = resampler(context.sampleRate, RATE);
      const source = context.createMediaStreamSource(stream);
      // ScriptProcessorNode: deprecated but needs no worklet module; 4096 frames is ~85 ms.
      const processor = context.createScriptProcessor(4096, 1, 1);
      processor.onaudioprocess = (audio) => {
        const input = resample(audio.inputBuffer.getChannelData(0));
        const pcm = new Int16Array(input.length);
        for (let i = 0; i < input.length; i += 1) pcm[i] = Math.max(-1, Math.min(1, input[i])) * 0x7fff;
        this.send({ type: "input_audio_buffer.append", audio: toBase64(new Uint8Array(pcm.buffer)) });
        this.sentMs += (pcm.length / RATE) * 1000;
        this.showAudio();
      };
      source.connect(processor);
      processor.connect(context.destination);
      this.capture = { stream, context };
    } catch (error) {
      $("rt-error").textContent = `microphone: ${error.message}`;
      $("rt-talk").classList.remove("active");
    }
  }

  stopTalking() {
    if (!this.capture) return;
    $("rt-talk").classList.remove("active");
    const { stream, context } = this.capture;
    this.capture = null;
    for (const track of stream.getTracks()) track.stop();
    context.close();
    this.send({ type: "input_audio_buffer.commit" });
    // The model reads the transcript, which completes the item after the commit: the response
    // is asked for once it is there (or its transcription failed).
    this.awaitingTranscript = true;
  }

  answerSpoken() {
    if (!this.awaitingTranscript) return;
    this.awaitingTranscript = false;
    this.send({ type: "response.create" });
  }
}
