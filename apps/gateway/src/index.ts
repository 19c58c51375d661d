export { loadNativeUws, type Uws } from "./uws-native.js";
