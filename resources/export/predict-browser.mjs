// Classifies images in a browser with the exported ATL Studio model, offline: serve this folder
// with any static file server and open predict-browser.html. For programs:
//   await window.atlPredict(['a.jpg', 'b.png'])   → [{ url, class, confidence }]
// Images are decoded by the browser as ATL Studio decodes them (EXIF orientation applied,
// transparency flattened onto white, natural size) and their RGB bytes go to the model as they
// are: the model resizes and normalizes inside its graph (see preprocessing.json).
const here = new URL('.', import.meta.url);
const json = async (name) => (await fetch(new URL(name, here))).json();
const [{ classes }, spec] = await Promise.all([json('labels.json'), json('preprocessing.json')]);

/** RGB bytes (height × width × 3) of an image Blob, at its natural size. */
async function decode(blob) {
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  const { width, height } = bitmap;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0); // no scaling: the model resizes
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p];
    rgb[q + 1] = rgba[p + 1];
    rgb[q + 2] = rgba[p + 2];
  }
  return { rgb, width, height };
}

/** The model behind one function: pixels → probabilities. ONNX: onnxruntime-web (WebAssembly); TF.js: WebGL, else WebAssembly. */
async function loadModel() {
  const runtime = new URL('web-runtime/', here).href;
  if (globalThis.ort) {
    ort.env.wasm.wasmPaths = runtime;
    // Threads need a cross-origin isolated page, which a plain static server does not make.
    if (!crossOriginIsolated) ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(new URL('model.onnx', here).href, { executionProviders: ['wasm'] });
    return {
      backend: 'onnxruntime-web wasm',
      async run({ rgb, width, height }) {
        const output = await session.run({ [spec.input]: new ort.Tensor('uint8', rgb, [height, width, 3]) });
        return output[spec.output].data;
      },
    };
  }
  tf.wasm.setWasmPaths(runtime);
  // setBackend resolves false (or throws) where WebGL cannot start, e.g. a browser without a GPU;
  // predict-browser.html?backend=wasm skips WebGL.
  const webgl = new URLSearchParams(location.search).get('backend') !== 'wasm' && (await tf.setBackend('webgl').catch(() => false));
  if (!webgl && !(await tf.setBackend('wasm'))) throw new Error('Neither WebGL nor WebAssembly is available for TF.js');
  await tf.ready();
  const model = await tf.loadGraphModel(new URL('model.json', here).href);
  return {
    backend: `tfjs ${tf.getBackend()}`,
    async run({ rgb, width, height }) {
      // TF.js has no uint8 tensors: the pixels go in as int32 (the graph casts them to float).
      const pixels = tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32');
      const output = model.execute({ [spec.input]: pixels }, spec.output);
      const probabilities = await output.data();
      tf.dispose([pixels, output]);
      return probabilities;
    },
  };
}

const model = await loadModel();

function best(probabilities) {
  let top = 0;
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[top]) top = c;
  return { class: classes[top].name, confidence: probabilities[top] };
}

async function classify(blob) {
  return best(await model.run(await decode(blob)));
}

/** Classifies the images at `urls` (fetched, so same-origin or CORS-allowed): [{ url, class, confidence }]. */
window.atlPredict = async (urls) => {
  const results = [];
  for (const url of urls) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    results.push({ url, ...(await classify(await response.blob())) });
  }
  return results;
};
window.atlBackend = model.backend;

// The page: pick or drop images, see each one's class and confidence.
const status = document.getElementById('status');
const rows = document.getElementById('results');
status.textContent = `Ready (${model.backend}). ${classes.length} classes: ${classes.map((c) => c.name).join(', ')}.`;

async function show(files) {
  for (const file of files) {
    const row = rows.insertRow();
    const image = document.createElement('img');
    image.src = URL.createObjectURL(file);
    image.alt = file.name;
    row.insertCell().append(image);
    try {
      const result = await classify(file);
      row.insertCell().textContent = result.class;
      row.insertCell().textContent = result.confidence.toFixed(3);
    } catch (error) {
      row.insertCell().textContent = `${file.name}: ${error.message}`;
    }
  }
}

document.getElementById('pick').addEventListener('change', (event) => show([...event.target.files]));
const drop = document.getElementById('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  show([...event.dataTransfer.files].filter((f) => f.type.startsWith('image/')));
});
window.atlReady = true;
