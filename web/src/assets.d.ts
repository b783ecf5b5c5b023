/** Images imported by the app (photos.ts): Vite turns each into the URL of the file in the build. */
declare module '*.png' {
  const url: string;
  export default url;
}
